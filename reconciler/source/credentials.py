"""Git credentials from the environment, handed to git through its environment only.

Token for https (first one set wins): RECONCILER_GIT_TOKEN, GIT_TOKEN, GITHUB_TOKEN.
User name that goes with it: RECONCILER_GIT_USERNAME (default `x-access-token`, which GitHub
expects for tokens; GitLab accepts any name with a token).
SSH: GIT_SSH_COMMAND as git reads it, or RECONCILER_GIT_SSH_KEY (a private key file).
Credentials written into the URL (https://user:token@host/...) are taken out of it and used the
same way, so the URL that is cloned, stored as `origin` and printed carries none.

The credential helper is configured with GIT_CONFIG_COUNT/KEY/VALUE (git >= 2.31): shell code
that prints the username/password from environment variables. Nothing secret is written to disk,
put in argv, or stored in the clone's .git/config.
"""

from __future__ import annotations

import os
import shlex
from urllib.parse import unquote, urlsplit, urlunsplit

TOKEN_VARS = ("RECONCILER_GIT_TOKEN", "GIT_TOKEN", "GITHUB_TOKEN")
_USER_VAR = "RECONCILER_GIT_HELPER_USERNAME"
_PASS_VAR = "RECONCILER_GIT_HELPER_PASSWORD"
_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    f'printf "username=%s\\npassword=%s\\n" "${_USER_VAR}" "${_PASS_VAR}"; }}; f'
)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(url without user:password, user, password)."""
    if "://" not in url:
        return url, None, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if parts.scheme in ("ssh", "git+ssh"):
        return url, None, None  # ssh://git@host: the user is not a secret
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) or None


def git_environment(url: str, user: str | None, password: str | None, environ=os.environ) -> dict:
    """Variables to add to git's environment for `url`."""
    env = {
        "GIT_TERMINAL_PROMPT": "0",  # fail instead of waiting for a person
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GCM_INTERACTIVE": "never",
        "LC_ALL": "C",  # error classification reads git's English messages
    }
    token = password or next((environ[v] for v in TOKEN_VARS if environ.get(v)), None)
    if token and url.startswith(("https://", "http://")):
        env.update(
            {
                "GIT_CONFIG_COUNT": "2",
                "GIT_CONFIG_KEY_0": "credential.helper",
                "GIT_CONFIG_VALUE_0": "",  # forget helpers from the user's config
                "GIT_CONFIG_KEY_1": "credential.helper",
                "GIT_CONFIG_VALUE_1": _HELPER,
                _USER_VAR: user or environ.get("RECONCILER_GIT_USERNAME") or "x-access-token",
                _PASS_VAR: token,
            }
        )
    if not environ.get("GIT_SSH_COMMAND"):
        key = environ.get("RECONCILER_GIT_SSH_KEY")
        ssh = "ssh -o BatchMode=yes"
        if key:
            ssh += f" -i {shlex.quote(key)} -o IdentitiesOnly=yes"
        env["GIT_SSH_COMMAND"] = ssh
    return env


def secrets_in(env: dict) -> list[str]:
    return [v for k, v in env.items() if k == _PASS_VAR and v]
