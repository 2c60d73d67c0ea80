"""The `github` service: a commit status and/or a deployment with its status on the commit that
holds the Rollout's manifest.

Options: `token` (a token that may write statuses and deployments, e.g. `$github-token`),
`apiURL` (default https://api.github.com) or Argo's `enterpriseBaseURL` (…/api/v3 is added).
Argo's GitHub App options (appID, installationID, privateKey) are reported by validation as not
implemented. The template's `github` part is Argo's: repoURLPath / revisionPath (default: the
repository SOURCE came from and the last commit that changed the Rollout's file), status {state,
label, targetURL}, deployment {state, environment, environmentURL, logURL, requiredContexts,
autoMerge, transientEnvironment, reference}. `pullRequestComment` is not implemented (validation
says so). A retried delivery sends the status again (GitHub keeps the latest per label).
"""

from __future__ import annotations

import json
import re

from reconciler.notifications.http import DeliveryError, Http, require_2xx

DEFAULT_API_URL = "https://api.github.com"
_REPO = re.compile(r"[:/](?P<owner>[^/:]+)/(?P<repo>[^/]+?)(?:\.git)?/*$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


def repository(url: str) -> tuple[str, str]:
    found = _REPO.search(url or "")
    if not found:
        raise DeliveryError(f"github: cannot tell owner/repository from repoURL {url!r}")
    return found.group("owner"), found.group("repo")


def api_base(options: dict) -> str:
    if options.get("apiURL"):
        return str(options["apiURL"]).rstrip("/")
    if options.get("enterpriseBaseURL"):
        return str(options["enterpriseBaseURL"]).rstrip("/") + "/api/v3"
    return DEFAULT_API_URL


def send(options: dict, notification: dict, recipient: str, http: Http, *, service: str, about: dict) -> None:
    part = notification.get("github")
    if not isinstance(part, dict) or not (part.get("status") or part.get("deployment")):
        raise DeliveryError(f"github {service!r}: the template has no github.status or github.deployment to send")
    repo_url = str(part.get("repoURLPath") or about.get("repoURL") or "")
    revision = str(part.get("revisionPath") or about.get("commit") or "")
    owner, repo = repository(repo_url)
    if not _SHA.match(revision):
        raise DeliveryError(f"github {service!r}: {revision!r} is not a commit (the Rollout's file must be in a Git repository)")
    base = api_base(options)
    headers = {"Authorization": f"Bearer {options.get('token', '')}", "Accept": "application/vnd.github+json",
               "Content-Type": "application/json"}
    message = str(notification.get("message", "")).strip()
    status = part.get("status")
    if isinstance(status, dict):
        body = {"state": status.get("state", "success"), "context": status.get("label") or "continuous-delivery",
                "description": message[:139]}
        if status.get("targetURL"):
            body["target_url"] = status["targetURL"]
        url = f"{base}/repos/{owner}/{repo}/statuses/{revision}"
        require_2xx(http.request("POST", url, headers=headers, data=json.dumps(body).encode()), "POST", url)
    deployment = part.get("deployment")
    if isinstance(deployment, dict):
        create = {
            "ref": deployment.get("reference") or revision,
            "environment": deployment.get("environment") or "production",
            "required_contexts": list(deployment.get("requiredContexts") or []),
            "auto_merge": _bool(deployment.get("autoMerge"), True),
            "transient_environment": _bool(deployment.get("transientEnvironment"), False),
            "description": message[:139],
        }
        url = f"{base}/repos/{owner}/{repo}/deployments"
        answer = http.request("POST", url, headers=headers, data=json.dumps(create).encode())
        require_2xx(answer, "POST", url)
        created = answer.json()
        if not isinstance(created, dict) or "id" not in created:
            raise DeliveryError(f"github {service!r}: creating the deployment gave no id")
        body = {"state": deployment.get("state", "success"), "environment": create["environment"]}
        if deployment.get("environmentURL"):
            body["environment_url"] = deployment["environmentURL"]
        if deployment.get("logURL"):
            body["log_url"] = deployment["logURL"]
        url = f"{base}/repos/{owner}/{repo}/deployments/{created['id']}/statuses"
        require_2xx(http.request("POST", url, headers=headers, data=json.dumps(body).encode()), "POST", url)


def _bool(value, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
