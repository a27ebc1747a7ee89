"""Prefect flows (the DAG) and the `tweetbots` command line."""
