"""Benchmark: vectorised `clean_posts` against a plain row-by-row Python implementation.

    python bench/clean.py [--posts N] [--seed S]

Generates N real-looking posts (deterministic for a seed), cleans them with both
implementations, each in its own child process so that each peak memory (VmHWM) is its
own, checks that both give identical kept texts and statistics, and prints posts/s, the
ratio and the peak memory of each. The issue's goal: >= 10x the row-by-row baseline and
under 2 GB peak for 1M posts.
"""

import argparse
import html
import multiprocessing
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tweetbots.clean import clean_posts  # noqa: E402
from tweetbots.sources import to_raw_frame  # noqa: E402

_WORDS = (
    "the a to and of i you it is in that for my on this was me so with but just be have "
    "not are like at what all your do its we can no if one out up about they get when "
    "time now love people new good day know lol going think today really how more got "
    "want would back see still why who need night great make thank much never us he she "
    "want dont im cant thats been tonight tomorrow wow yes oh omg haha best last first "
    "coffee dream morning weekend music game team world life work home show"
).split()
_SPICE = [
    "😂",
    "🤖",
    "❤️",
    "🔥",
    "👀",
    "✨",
    "🙏🏽",
    "مرحبا",
    "שלום",
    "日本語",
    "naïve",
    "café",
    "&amp;",
    "&lt;3",
    "&gt;",
    "&quot;hi&quot;",
    "&#39;s",
    "&amp;lt;",
    "AT&amp;T",
    "#ai",
    "#MondayMotivation",
    "#100DaysOfCode",
    "@dril",
    "@horse_ebooks",
    "@elonmusk",
    "(https://t.co/Ab3dE)",
    "HTTPS://EXAMPLE.COM",
    "http:nope",
    "C#",
    "email@x.org",
]
_LINKS = ["https://t.co/x7Yh2kLq9z", "http://bit.ly/3xYz", "https://example.com/a?b=c&amp;d=e"]
# Separators between words and how often they occur: mostly single spaces.
_SEPARATORS = {" ": 0.95, "\n": 0.02, "\n\n": 0.01, "  ": 0.01, " \n": 0.005, "\t": 0.005}
_SPICE_SHARE = 0.05  # share of tokens that are emoji, entities, mentions, tags, odd links


def generate_posts(n: int, seed: int) -> pd.DataFrame:
    """N posts in the raw schema: word-count mix like tweets, links, mentions, retweets."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(mean=2.3, sigma=0.7, size=n).astype(np.int64), 1, 60)
    vocabulary = np.array(_WORDS + _SPICE, dtype=object)
    weights = np.r_[
        np.full(len(_WORDS), (1 - _SPICE_SHARE) / len(_WORDS)),
        np.full(len(_SPICE), _SPICE_SHARE / len(_SPICE)),
    ]
    tokens = rng.choice(vocabulary, size=int(lengths.sum()), p=weights)
    separators = rng.choice(
        np.array(list(_SEPARATORS), dtype=object), size=len(tokens), p=list(_SEPARATORS.values())
    )
    ends = np.cumsum(lengths)
    separators[ends - 1] = ""
    pieces = tokens + separators
    texts = ["".join(pieces[end - length : end]) for end, length in zip(ends, lengths, strict=True)]
    texts = _decorate(texts, rng)
    users = np.array([f"user{k:03d}" for k in range(max(1, n // 3200))], dtype=object)
    is_retweet = rng.random(n) < 0.15
    texts = [f"RT @friend: {t}" if rt else t for t, rt in zip(texts, is_retweet, strict=True)]
    return to_raw_frame(
        pd.DataFrame(
            {
                "id": np.arange(n).astype(str),
                "user": rng.choice(users, size=n),
                "created_at": pd.Timestamp("2021-01-01", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 10**8, size=n), unit="s"),
                "text": texts,
                "is_retweet": is_retweet,
                "is_reply": rng.random(n) < 0.3,
                "platform": "twitter",
                "url": None,
            }
        )
    )


def _decorate(texts: list[str], rng: np.random.Generator) -> list[str]:
    """Links at the end or start of many posts, mentions at the start of replies."""
    n = len(texts)
    link_at_end = rng.random(n) < 0.35
    link_at_start = rng.random(n) < 0.05
    mention_at_start = rng.random(n) < 0.25
    link_choice = rng.integers(0, len(_LINKS), size=n)
    out = []
    for i, text in enumerate(texts):
        if mention_at_start[i]:
            text = "@someone " + text
        if link_at_end[i]:
            text = text + " " + _LINKS[link_choice[i]]
        if link_at_start[i]:
            text = _LINKS[link_choice[i]] + "\n" + text
        out.append(text)
    return out


# -- baseline: the rules, one post at a time ------------------------------------------


def _clean_one(text: str) -> str:
    """The original's rules as it wrote them: its five link patterns per scheme, in order."""
    text = html.unescape(text)
    for scheme in ("http:", "https:"):
        text = re.sub(f" {scheme}\\S+", "", text)  # the link with the space before it
        text = re.sub(f"{scheme}\\S+ ", "", text)  # with the space after it
        text = re.sub(f"\n{scheme}\\S+ ", "", text)  # after a newline, space after
        text = re.sub(f"\n{scheme}\\S+", "", text)  # after a newline
        text = re.sub(f"{scheme}\\S+", "", text)  # alone
    return " ".join(text.split())


def _counted_words_one(text: str) -> int:
    lowered = (word.lower() for word in text.split())
    return sum(1 for w in lowered if "http" not in w and "@" not in w and "#" not in w)


def clean_posts_row_by_row(raw: pd.DataFrame) -> tuple[list[str], dict[str, dict[str, int]]]:
    """The straightforward version: a for-loop over posts."""
    kept_texts: list[str] = []
    stats: dict[str, dict[str, int]] = {}
    for user, text, is_retweet in zip(raw["user"], raw["text"], raw["is_retweet"], strict=True):
        counts = stats.setdefault(user, {"downloaded": 0, "retweets": 0, "short": 0, "kept": 0})
        counts["downloaded"] += 1
        if is_retweet:
            counts["retweets"] += 1
            continue
        cleaned = _clean_one(text)
        if _counted_words_one(cleaned) >= 3:
            counts["kept"] += 1
            kept_texts.append(cleaned)
        else:
            counts["short"] += 1
    return kept_texts, stats


def _comparable_vectorised(output) -> tuple[list[str], dict[str, dict[str, int]]]:
    kept, stats = output
    return kept["text"].tolist(), {u: s.model_dump() for u, s in stats.items()}


# name -> (the function timed, what turns its natural output into comparable lists). Only
# the first is timed: each implementation returns what its callers would use (ours a
# DataFrame the clean stage writes to Parquet; the loop a list), not a common format.
_IMPLEMENTATIONS = {
    "vectorised": (clean_posts, _comparable_vectorised),
    "row-by-row": (clean_posts_row_by_row, lambda output: output),
}


def _run_in_child(name: str, posts_path: str, repeat: int, results) -> None:
    raw = pd.read_parquet(posts_path)
    input_mb = _peak_mb()
    clean, comparable = _IMPLEMENTATIONS[name]
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        output = clean(raw)
        seconds.append(time.perf_counter() - start)
    peak_mb = _peak_mb()
    texts, stats = comparable(output)
    results.put((name, statistics.median(seconds), input_mb, peak_mb, texts, stats))


def _peak_mb() -> float:
    """This process's peak resident memory, in MB.

    Linux's VmHWM is per process image; ru_maxrss would also carry the parent's peak
    (the data generation) across the fork and exec that start the child.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs each; median shown")
    args = parser.parse_args()

    start = time.perf_counter()
    raw = generate_posts(args.posts, args.seed)
    chars = int(raw["text"].str.len().sum())
    print(
        f"generated {len(raw):,} posts, {chars / 1e6:.0f}M characters, "
        f"in {time.perf_counter() - start:.1f}s"
    )
    context = multiprocessing.get_context("spawn")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        posts_path = str(Path(tmp) / "posts.parquet")
        raw.to_parquet(posts_path, index=False)
        del raw
        # Each implementation in a fresh process, so each peak memory is its own.
        for name in _IMPLEMENTATIONS:
            queue = context.Queue()
            child = context.Process(
                target=_run_in_child, args=(name, posts_path, args.repeat, queue)
            )
            child.start()
            results[name] = queue.get()
            child.join()
            print(f"{name}: median {results[name][1]:.2f}s of {args.repeat}")
    _check_same(results["vectorised"], results["row-by-row"])
    _print_table(results, args.posts)


def _check_same(ours, baseline) -> None:
    assert ours[5] == baseline[5], "per-user statistics differ"
    assert list(ours[5]) == list(baseline[5]), "users are not in first-appearance order"
    assert ours[4] == baseline[4], "kept texts differ"
    print(f"identical: {len(ours[4]):,} kept texts and {len(ours[5])} users' statistics")


def _print_table(results, n: int) -> None:
    base_rate = n / results["row-by-row"][1]
    print(f"\n{n:,} posts on {os.cpu_count()} cores")
    header = f"{'implementation':<14} {'seconds':>8} {'posts/s':>11} {'ratio':>7}"
    print(f"{header} {'input MB':>9} {'peak MB':>8}")
    for name, seconds, input_mb, peak_mb, _, _ in results.values():
        rate = n / seconds
        print(
            f"{name:<14} {seconds:>8.2f} {rate:>11,.0f} {rate / base_rate:>6.1f}x "
            f"{input_mb:>9.0f} {peak_mb:>8.0f}"
        )
    print("(input MB: peak after reading the posts; peak MB: peak after cleaning them)")


if __name__ == "__main__":
    main()
