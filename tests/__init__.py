"""The tests, a package mirroring the tree: tests/tweetbots/stages/test_clean.py tests
tweetbots/stages/clean.py, tests/tweetbots/test_clean.py tests tweetbots/clean.py. As
packages (an `__init__.py` in every folder), same-named test modules of different folders
import as different modules (`tests.tweetbots.stages.test_clean`)."""
