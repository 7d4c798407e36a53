"""Write the tiny language model's corpus: templated English plus the course's lessons.

Run from the repository root (deterministic: the same seed writes the same files)::

    python content/corpus/make_corpus.py [--seed 2026]

It writes, one paragraph per line:

* ``world.txt``    countries, capitals, languages, continents, simple nature facts
* ``weather.txt``  weather reports for cities and seasons
* ``routines.txt`` people's daily routines, weekdays, months, meals
* ``lessons.txt``  the course's lesson text (content/lessons/*/lesson.md) without markup

Every template has several wordings and the slots are filled at random, so the model
sees each fact in many contexts. A fact is never contradicted: "The capital of France
is" is always followed by "Paris".
"""
from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
LESSONS = HERE.parent / "lessons"

# (country, capital, language, continent)
COUNTRIES = [
    ("France", "Paris", "French", "Europe"), ("Germany", "Berlin", "German", "Europe"),
    ("Italy", "Rome", "Italian", "Europe"), ("Spain", "Madrid", "Spanish", "Europe"),
    ("Portugal", "Lisbon", "Portuguese", "Europe"), ("Greece", "Athens", "Greek", "Europe"),
    ("Norway", "Oslo", "Norwegian", "Europe"), ("Sweden", "Stockholm", "Swedish", "Europe"),
    ("Finland", "Helsinki", "Finnish", "Europe"), ("Poland", "Warsaw", "Polish", "Europe"),
    ("Austria", "Vienna", "German", "Europe"), ("Ireland", "Dublin", "English", "Europe"),
    ("Hungary", "Budapest", "Hungarian", "Europe"), ("Denmark", "Copenhagen", "Danish", "Europe"),
    ("Russia", "Moscow", "Russian", "Europe"), ("England", "London", "English", "Europe"),
    ("Japan", "Tokyo", "Japanese", "Asia"), ("China", "Beijing", "Chinese", "Asia"),
    ("Thailand", "Bangkok", "Thai", "Asia"), ("Vietnam", "Hanoi", "Vietnamese", "Asia"),
    ("Korea", "Seoul", "Korean", "Asia"), ("Turkey", "Ankara", "Turkish", "Asia"),
    ("Egypt", "Cairo", "Arabic", "Africa"), ("Kenya", "Nairobi", "Swahili", "Africa"),
    ("Morocco", "Rabat", "Arabic", "Africa"), ("Nigeria", "Abuja", "English", "Africa"),
    ("Canada", "Ottawa", "English", "North America"), ("Peru", "Lima", "Spanish", "South America"),
    ("Brazil", "Brasilia", "Portuguese", "South America"),
    ("Chile", "Santiago", "Spanish", "South America"),
    ("Australia", "Canberra", "English", "Oceania"),
]

CAPITAL_FACT = [
    "The capital of {c} is {cap}.",
    "The capital of {c} is {cap}, a big city.",
    "The capital of {c} is {cap}, and many people live there.",
    "{cap} is the capital of {c}.",
    "{cap} is the capital city of {c}.",
    "The capital city of {c} is {cap}.",
    "Every year many people visit {cap}, the capital of {c}.",
    "If you travel to {c}, you can visit {cap}.",
    "Question: what is the capital of {c}? Answer: the capital of {c} is {cap}.",
]
COUNTRY_FACT = [
    "{c} is a country in {cont}.",
    "People in {c} speak {lang}.",
    "In {c} most people speak {lang}.",
    "{cap} is a city in {c}.",
    "The main language of {c} is {lang}.",
    "{c} is in {cont}.",
]
NATURE = [
    "The sky is blue.", "Grass is green.", "The sun rises in the east and sets in the west.",
    "Water freezes at zero degrees.", "Water boils at one hundred degrees.",
    "A cat is a small animal.", "A dog likes to run and play.", "Cows eat grass.",
    "Birds can fly.", "Fish live in water.", "The moon goes around the earth.",
    "The earth goes around the sun.", "Snow is cold and white.", "Rain falls from clouds.",
    "A week has seven days.", "A year has twelve months.", "A day has twenty four hours.",
    "Bees make honey.", "Trees have leaves.", "The sea is salty.",
]

CITIES = [row[1] for row in COUNTRIES]
SEASONS = {
    "winter": (["cold", "snowy", "freezing", "grey", "icy", "cold and dark"], ["minus two", "zero", "two", "three"]),
    "spring": (["mild", "fresh", "rainy", "bright", "cloudy", "windy"], ["ten", "twelve", "fourteen"]),
    "summer": (["sunny", "hot", "warm", "dry", "sunny and hot", "clear"], ["twenty five", "twenty eight", "thirty"]),
    "autumn": (["cool", "wet", "windy", "foggy", "rainy", "cloudy"], ["eight", "eleven", "fifteen"]),
}
WEATHER_WORDS = ["sunny", "cloudy", "rainy", "windy", "warm", "cold", "foggy", "snowy", "mild", "clear", "wet", "hot"]
WEATHER_TODAY = [
    "The weather today is {w}.",
    "The weather today is {w} and {w2}.",
    "The weather today is {w}, with a high of {t} degrees.",
    "The weather today is {w} in {city}.",
    "Today the weather is {w}.",
    "In {city} the weather today is {w}.",
    "Here is the weather for {city}. It is {w} today, with a high of {t} degrees.",
    "Tomorrow the weather will be {w2}.",
    "The weather tomorrow will be {w} and {w2}.",
    "It is {w} today, so take {item}.",
    "In {season} the weather is often {w}.",
    "The temperature today is {t} degrees.",
]
ITEMS = {"rainy": "an umbrella", "wet": "an umbrella", "sunny": "a hat", "hot": "a hat", "cold": "a warm coat",
         "snowy": "a warm coat", "windy": "a jacket", "foggy": "a torch", "cool": "a jacket"}

PEOPLE = [("Anna", "she", "her"), ("Tom", "he", "his"), ("Maria", "she", "her"), ("Ben", "he", "his"),
          ("Sara", "she", "her"), ("Leo", "he", "his"), ("Emma", "she", "her"), ("Sam", "he", "his"),
          ("Lucy", "she", "her"), ("David", "he", "his"), ("Nina", "she", "her"), ("Omar", "he", "his")]
HOURS = ["six", "seven", "eight", "nine", "ten", "eleven", "twelve", "one", "two", "three", "four", "five"]
MORNING = ["eats breakfast", "drinks a cup of tea", "drinks a cup of coffee", "takes a shower",
           "brushes {p} teeth", "reads the news", "goes for a run", "feeds the cat", "walks the dog"]
DAYTIME = ["walks to work", "takes the bus to work", "rides a bike to school", "works in an office",
           "goes to school", "studies at the library", "works in a shop", "teaches a class"]
EVENING = ["cooks dinner", "watches a film", "reads a book", "calls a friend", "plays the piano",
           "goes to bed", "washes the dishes", "listens to music", "plays a game"]
MEALS = {"breakfast": ["bread", "eggs", "fruit", "porridge", "toast"],
         "lunch": ["soup", "a salad", "a sandwich", "rice", "pasta"],
         "dinner": ["fish", "pasta", "rice and beans", "vegetables", "soup"]}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def world(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(3, 5)):
        c, cap, lang, cont = rng.choice(COUNTRIES)
        kind = rng.random()
        pool = CAPITAL_FACT if kind < 0.55 else COUNTRY_FACT if kind < 0.85 else NATURE
        sentences.append(rng.choice(pool).format(c=c, cap=cap, lang=lang, cont=cont))
    return " ".join(sentences)


def weather(rng: random.Random) -> str:
    season = rng.choice(list(SEASONS))
    words, temps = SEASONS[season]
    sentences = [rng.choice(["", f"It is {season}. ", f"This is a {season} weather report. "]).strip()]
    for _ in range(rng.randint(2, 4)):
        w = rng.choice(words if rng.random() < 0.7 else WEATHER_WORDS)
        w2 = rng.choice([x for x in words if x != w] or WEATHER_WORDS)
        text = rng.choice(WEATHER_TODAY).format(
            w=w, w2=w2, t=rng.choice(temps), city=rng.choice(CITIES), season=season,
            item=ITEMS.get(w.split()[0], "a coat"))
        sentences.append(text)
    return " ".join(s for s in sentences if s)


def routine(rng: random.Random) -> str:
    name, he, his = rng.choice(PEOPLE)
    start = rng.randrange(0, 4)
    out = [f"{name} wakes up at {HOURS[start]} o'clock every morning."]
    for when, pool in (("In the morning", MORNING), ("During the day", DAYTIME), ("In the evening", EVENING)):
        acts = rng.sample(pool, 2)
        acts = [a.format(p=his) for a in acts]
        out.append(rng.choice([f"{when} {he} {acts[0]} and {acts[1]}.",
                               f"{when}, {name} {acts[0]}.", f"Then {he} {acts[0]}."]))
    meal = rng.choice(list(MEALS))
    out.append(rng.choice([f"For {meal} {he} eats {rng.choice(MEALS[meal])}.",
                           f"{name} has {rng.choice(MEALS[meal])} for {meal}."]))
    i = rng.randrange(7)
    out.append(rng.choice([f"On {DAYS[i]} {he} goes to the market.",
                           f"{DAYS[i]} comes before {DAYS[(i + 1) % 7]}.",
                           f"After {DAYS[i]} comes {DAYS[(i + 1) % 7]}."]))
    m = rng.randrange(12)
    if rng.random() < 0.4:
        out.append(f"After {MONTHS[m]} comes {MONTHS[(m + 1) % 12]}.")
    out.append(f"{he.capitalize()} goes to bed at {HOURS[(start + 4) % 12]} o'clock.")
    return " ".join(out)


def strip_markup(text: str) -> list[str]:
    """A lesson.md as plain paragraphs: no front matter, code, lab blocks or symbols."""
    text = re.sub(r"\A\+\+\+.*?\+\+\+", "", text, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"^:::.*$", "", text, flags=re.M)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        items: list[str] = []
        for line in block.splitlines():
            starts_item = re.match(r"^\s*(#+|[-*]|\d+\.)\s+", line) is not None
            line = re.sub(r"^\s*(#+|[-*]|\d+\.)\s+", "", line)
            line = re.sub(r"[*`_>|]", "", line).strip()
            if not line:
                continue
            if starts_item or not items:
                items.append(line)
            else:
                items[-1] += " " + line
        items = [item if item[-1] in ".!?:," else item + "." for item in items]
        if items:
            paragraphs.append(" ".join(items))
    return paragraphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--paragraphs", type=int, default=2200, help="per templated file")
    args = parser.parse_args()
    for name, make, share in (("world", world, 1.0), ("weather", weather, 1.0), ("routines", routine, 0.5)):
        rng = random.Random(f"{args.seed}-{name}")
        lines = [make(rng) for _ in range(int(args.paragraphs * share))]
        (HERE / f"{name}.txt").write_text("\n".join(lines) + "\n")
    lessons = []
    for path in sorted(LESSONS.glob("*/lesson.md")):
        lessons += strip_markup(path.read_text())
    (HERE / "lessons.txt").write_text("\n".join(lessons) + "\n")


if __name__ == "__main__":
    main()
