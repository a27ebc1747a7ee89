"""The local stack's login: made once per data root, kept from other users, never empty."""

import stat

from flows.stack import login, login_file, server_settings


def test_the_login_is_made_once_readable_by_the_user_alone(data_root):
    first = login(data_root)
    user, _, password = first.partition(":")
    assert user == "tweetbots" and len(password) >= 20
    assert stat.S_IMODE(login_file(data_root).stat().st_mode) == 0o600
    assert login(data_root) == first  # kept: the browser stays logged in
    assert server_settings(data_root, 4200)["PREFECT_SERVER_API_AUTH_STRING"] == first


def test_an_empty_login_file_is_made_again(data_root):
    login_file(data_root).parent.mkdir(parents=True)
    login_file(data_root).write_text("")
    assert login(data_root).startswith("tweetbots:")


def test_the_server_allows_only_its_own_origins_and_wants_csrf(data_root):
    settings = server_settings(data_root, 4321)
    assert settings["PREFECT_SERVER_CORS_ALLOWED_ORIGINS"].split(",") == [
        "http://127.0.0.1:4321",
        "http://localhost:4321",
    ]
    assert settings["PREFECT_SERVER_CSRF_PROTECTION_ENABLED"] == "true"
