"""Airflow's REST API as one signed-in user: the one place that signs in to ``POST /auth/token``.

Plain ``requests``; the CLI (an approver as themselves), the Airflow hook (the pipeline's service account)
and the development stack (its admin) all use it.
"""
from __future__ import annotations

import threading
from typing import Any

import requests

from humas.exceptions import HumasError


class SignInRefused(HumasError):
    """Airflow refused the login and password (HTTP 401/403)."""


class AirflowApi:
    """Airflow's API server at ``base_url``, signed in as ``username`` on the first request.

    One sign-in serves every request. It may be used from several threads at once: each thread gets its own
    ``requests.Session`` (requests does not promise a session is thread-safe), all with the one token.
    """

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30) -> None:
        self.base_url = (base_url if "://" in base_url else f"http://{base_url}").rstrip("/")
        self.username, self.timeout = username, timeout
        self._password = password
        self._token: str | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def token(self) -> str:
        """The bearer token of this user (signing in once)."""
        with self._lock:
            if self._token is None:
                resp = requests.post(f"{self.base_url}/auth/token", timeout=self.timeout,
                                     json={"username": self.username, "password": self._password})
                if resp.status_code in (401, 403):
                    raise SignInRefused(f"Airflow at {self.base_url} refused the sign-in of {self.username}: "
                                        "check the login and password")
                resp.raise_for_status()
                self._token = resp.json()["access_token"]
            return self._token

    def session(self) -> requests.Session:
        """This thread's session, carrying the token."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token()}"
            self._local.session = session
        return session

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """``method`` on ``base_url + path`` as the signed-in user; the response as it came."""
        kwargs.setdefault("timeout", self.timeout)
        return self.session().request(method, f"{self.base_url}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)
