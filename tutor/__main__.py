"""`python -m tutor` does what the `genai-tutor` command does."""

import sys

from tutor.cli import main

sys.exit(main())
