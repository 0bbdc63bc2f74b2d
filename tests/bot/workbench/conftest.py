"""Workbench fixtures: the DingTalk simulator as the login provider, the seeded world, the app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.app import create_app
from bot.config import DingtalkSettings, Settings
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from storage.models import Staff
from tests.handlers.world import World, seed

APP_KEY = "dingworkbenchtest"
APP_SECRET = "workbench-test-secret"
# the seeded world's people (tests/handlers/world.py) plus a stranger and an admin
USERS = {
    "u-zhang": "张伟",  # deputy of 城南 (S1)
    "u-wang": "王强",  # deputy of 城北 (S2)
    "u-chen": "陈静",  # staff of station S1
    "u-liu": "刘洋",  # office staff of the county 海州区
    "u-wu": "吴芳",  # staff of the township station S3
    "u-out": "外人",  # in the org, not in lianxin's directory
    "u-admin": "管理员",  # city staff with the admin role
}


@pytest.fixture()
def sim() -> Iterator[DingTalkSimulator]:
    """A DingTalk simulator whose org knows the seeded people."""
    s = DingTalkSimulator(client_id=APP_KEY, client_secret=APP_SECRET, seed=5, tick_interval=3600)
    s.start()
    for user_id, nick in USERS.items():
        s.add_user(user_id, nick)
    yield s
    s.stop()


@pytest.fixture()
def settings(settings: Settings, sim: DingTalkSimulator) -> Settings:
    """Test settings with every DingTalk host pointing at the simulator; u-liu is no admin."""
    dingtalk = DingtalkSettings(
        client_id=APP_KEY,
        client_secret=SecretStr(APP_SECRET),
        openapi_endpoint=sim.endpoint,
        oapi_endpoint=sim.endpoint,
        login_endpoint=sim.endpoint,
        timeout_seconds=3.0,
    )
    workbench = settings.workbench.model_copy(update={"admin_user_ids": ["u-admin"]})
    return settings.model_copy(update={"dingtalk": dingtalk, "workbench": workbench})


@pytest.fixture()
def world(sessions: sessionmaker[Session]) -> World:
    """The seeded directory (regions C > K > T, stations S1, S2, S3, deputies, staff)."""
    with sessions() as session, session.begin():
        ids = seed(session)
        admin = Staff(code="ADM", name="管理员", dingtalk_user_id="u-admin", region_id=ids["city"])
        session.add(admin)
    return World(sessions, ids)


@pytest.fixture()
def app(rt: Runtime, world: World) -> Flask:
    """lianxin's web app on the test runtime."""
    return create_app(runtime=rt)


@dataclass
class Browser:
    """A browser session against the workbench, logging in through the simulator's OAuth."""

    client: FlaskClient
    sim: DingTalkSimulator

    def login(self, user_id: str) -> str:
        """Scan-login as `user_id`; the final path the browser lands on."""
        start = self.client.get("/workbench/auth/start")
        assert start.status_code == 302, start.data
        authorize = start.headers["Location"]
        assert authorize.startswith(self.sim.endpoint + "/oauth2/auth?")
        page = requests.get(authorize, timeout=5)
        assert page.status_code == 200 and user_id in page.text
        query = dict(p.split("=", 1) for p in urlsplit(authorize).query.split("&"))
        approved = requests.post(
            self.sim.endpoint + "/oauth2/auth/approve",
            data={
                "user_id": user_id,
                "state": requests.utils.unquote(query["state"]),
                "redirect_uri": requests.utils.unquote(query["redirect_uri"]),
            },
            allow_redirects=False,
            timeout=5,
        )
        assert approved.status_code == 302
        back = urlsplit(approved.headers["Location"])
        done = self.client.get(f"{back.path}?{back.query}")
        assert done.status_code == 302
        return urlsplit(done.headers["Location"]).path + (
            "?" + urlsplit(done.headers["Location"]).query
            if urlsplit(done.headers["Location"]).query
            else ""
        )

    def csrf(self, path: str = "/workbench/cases") -> str:
        """The CSRF token shown in a page's forms."""
        html = self.client.get(path).get_data(as_text=True)
        marker = 'name="csrf" value="'
        start = html.index(marker) + len(marker)
        return html[start : html.index('"', start)]


@pytest.fixture()
def browser(app: Flask, sim: DingTalkSimulator) -> Browser:
    """A fresh browser (own cookie jar)."""
    return Browser(app.test_client(), sim)


@pytest.fixture()
def other_browser(app: Flask, sim: DingTalkSimulator) -> Browser:
    """A second browser, for a second person."""
    return Browser(app.test_client(), sim)
