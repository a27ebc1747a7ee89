"""Evaluation (tweetbots/evaluate.py) on the real tiny GPT-2: samples as the original made
them, cut and shown safely, and the measures of memorisation and variety."""

import pytest

from tests.fakes.models import texts
from tweetbots.evaluate import (
    Sample,
    distinct_2,
    memorisation_rate,
    sample_predictions,
    sample_text,
)
from tweetbots.stages.evaluate import EvalSettings


def test_samples_are_cut_at_the_first_newline_and_seeded(trained):
    model, _ = trained
    settings = EvalSettings(prompts=["bread"], samples_per_prompt=3)
    first = sample_predictions(model, settings)
    assert len(first) == 3 and all("\n" not in s.text for s in first)
    assert first == sample_predictions(model, settings)


def test_a_prompt_too_long_for_a_sample_keeps_its_end(trained, caplog):
    """A sample is 160 tokens, prompt included; a longer prompt keeps its last 149 (the
    original's min_length of 10 left for the bot, and <|endoftext|> before it)."""
    from transformers import AutoTokenizer

    model, _ = trained
    prompt = " ".join(texts(80, seed=3))
    prompt_ids = AutoTokenizer.from_pretrained(model)(prompt)["input_ids"]
    assert len(prompt_ids) > 300  # past the tiny model's 256 of context too
    with caplog.at_level("WARNING", logger="tweetbots.evaluate"):
        [sample] = sample_predictions(model, EvalSettings(prompts=[prompt], samples_per_prompt=1))
    kept = AutoTokenizer.from_pretrained(model).decode(prompt_ids[-149:]).strip()
    assert sample.text.startswith(kept) and len(sample.text) > len(kept)
    assert any("cut to its last 149" in r.getMessage() for r in caplog.records)


def test_a_multi_byte_character_cut_at_max_length_leaves_no_replacement_character(tiny):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[0])
    cut = tokenizer.decode(tokenizer("I think that 🍞")["input_ids"][:-1])
    assert cut.endswith("\ufffd")  # the emoji's last byte fell past max_length
    assert sample_text(cut) == "I think that"
    assert sample_text("a \ufffd b \ufffd\ufffd\nnext line") == "a \ufffd b"  # only trailing


def test_a_sample_cannot_drive_the_terminal_it_is_printed_to():
    sampled = "\x1b]0;owned\x07red \x1b[31mtext\x9b2J\tend\r\nnext line"
    shown = sample_text(sampled)
    assert shown == "]0;owned red  [31mtext 2J end"
    assert all(ch.isprintable() for ch in shown)


def test_memorisation_counts_samples_copying_eight_words():
    train = ["one two three four five six seven eight nine"]
    copied = Sample(prompt="p", text="so one two three four five six seven eight")
    fresh = Sample(prompt="p", text="one two three four five six seven nine")
    assert memorisation_rate([copied, fresh], train, 8) == 0.5


def test_distinct_2():
    assert distinct_2([Sample(prompt="", text="a b a b")]) == pytest.approx(2 / 3)
