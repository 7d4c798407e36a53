"""Reliability and security: fault injection, fuzzing, tampering, escape sequences."""
