import json

from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_stats_json_counts_a_text_only_csv_by_the_rules(tmp_path):
    csv = tmp_path / "posts.csv"
    csv.write_text(
        "text\n"
        '"RT @someone: a retweet with plenty of words"\n'   # retweet by prefix
        '"three whole words"\n'                              # kept (exactly 3)
        '"two words https://t.co/x"\n'                       # short: links don't count
        '"@bob #tbt wow"\n'                                  # short: mentions, hashtags
        '"this one is long enough to keep"\n'                # kept
    )
    result = runner.invoke(app, ["stats", "--source", f"file:{csv}", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "posts": {"downloaded": 5, "retweets": 1, "short": 2, "kept": 2}
    }


def test_stats_table_is_the_cards(tmp_path):
    csv = tmp_path / "alice.csv"
    csv.write_text("text\nhello there my friends\n")
    result = runner.invoke(app, ["stats", "--source", f"file:{csv}"])
    assert result.exit_code == 0, result.output
    assert "| Tweets kept | 1 |" in result.output


def test_unknown_source_is_a_one_line_error():
    result = runner.invoke(app, ["stats", "--source", "ftp:nowhere"])
    assert result.exit_code == 2
    assert "unknown source 'ftp:nowhere'" in result.output
