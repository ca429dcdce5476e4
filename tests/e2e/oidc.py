"""Sign-in for the browser tests: a real OpenID Connect provider and the clicks of a person.

The provider is `oidc-provider-mock` (PyPI), run on a thread of the test process on
127.0.0.1. It accepts any client id and secret and any redirect URI; its authorize
page asks for a `sub` (the person's id at the provider) and has an "Authorize"
button. The claims it hands out for a sub (name, email, ...) are set with
`PUT /users/<sub>`.

The app must be opened on exactly the host named in its [auth] redirect_uri (both
are 127.0.0.1 here): with localhost on one side and 127.0.0.1 on the other the
sign-in fails silently ("Missing provider for OAuth callback" in the server log).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from notes_e2e import DEAD_PROXY, Server
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

with warnings.catch_warnings():
    # The mock imports Authlib modules that Authlib calls deprecated: nothing for us to
    # fix. (authlib.deprecate turns its warnings on when imported: import it, then hush.)
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import oidc_provider_mock

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class Person:
    """Someone who can sign in: sub is their id at the provider, name what the app shows."""

    sub: str
    name: str
    email: str


@dataclass(frozen=True)
class Provider:
    """A running OpenID Connect provider. Its issuer is its base URL, as it names itself
    in its discovery document and in the ID tokens it signs (iss)."""

    base_url: str

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def metadata_url(self) -> str:
        return self.base_url + "/.well-known/openid-configuration"

    def add(self, person: Person) -> Person:
        """Tell the provider who person is (their claims, email verified); return person."""
        claims = {"name": person.name, "email": person.email, "email_verified": True}
        request = urllib.request.Request(
            f"{self.base_url}/users/{person.sub}",
            data=json.dumps(claims).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 204, f"PUT /users/{person.sub}: {response.status}"
        return person


@contextlib.contextmanager
def run_provider() -> Iterator[Provider]:
    """Run oidc-provider-mock on a free port of 127.0.0.1 until the block ends."""
    with oidc_provider_mock.run_server_in_thread(port=0) as server:
        yield Provider(base_url=f"http://127.0.0.1:{server.server_port}")


def auth_secrets(provider: Provider, admins: list[str]) -> Callable[[str], str]:
    """The app's secrets.toml for signed-in mode, made from the app's base URL (for
    run_streamlit(secrets=...)): the [auth] section for provider, and admins by email."""
    cookie_secret = secrets.token_hex(32)

    def text(app_url: str) -> str:
        return "\n".join(
            [
                f"admins = {json.dumps(admins)}",
                "",
                "[auth]",
                f'redirect_uri = "{app_url}/oauth2callback"',
                f'cookie_secret = "{cookie_secret}"',
                'client_id = "notes-test"',
                'client_secret = "notes-test-secret"',
                f'server_metadata_url = "{provider.metadata_url}"',
                "",
            ]
        )

    return text


def new_browser(browser: Browser) -> BrowserContext:
    """A fresh browser context (a person's own cookies) that never reaches off this machine
    (the mock's CDN stylesheet fails at once): DEAD_PROXY, not a route, which made each
    page load about 3 times as slow by turning the context's HTTP cache off."""
    return browser.new_context(proxy=DEAD_PROXY)


def sidebar(page: Page) -> Locator:
    """The app's sidebar."""
    return page.get_by_test_id("stSidebar")


def sign_in(page: Page, server: Server, person: Person) -> None:
    """Sign in as person, as they would: open the app, press "Sign in" in the sidebar,
    give the provider their sub and press "Authorize"; wait until the sidebar says
    "Signed in as <name>". The page ends on the app's home page."""
    page.goto(server.url("/"))
    page.locator(".st-key-sign_in button").click()
    sub = page.locator("input[name='sub']")  # the provider's authorize page
    sub.fill(person.sub)
    page.get_by_role("button", name="Authorize").click()
    expect(sidebar(page)).to_contain_text(f"Signed in as {person.name}")
    page.wait_for_url(server.url("/"))


def sign_out(page: Page) -> None:
    """Press "Sign out" in the sidebar and confirm on the provider's "End session" page
    (st.logout goes through it); wait until the app's sidebar offers "Sign in" again."""
    page.locator(".st-key-sign_out button").click()
    page.get_by_role("button", name="End session").click()
    expect(page.locator(".st-key-sign_in button")).to_be_visible()
