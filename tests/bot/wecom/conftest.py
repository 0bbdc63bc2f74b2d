"""WeCom channel fixtures: the simulator, settings pointing at it, lianxin's real Flask app on a
real port (so the simulator's encrypted callbacks reach it), and a small seeded directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from bot.config import DingtalkSettings, Settings, WecomSettings
from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from storage.models import Deputy, DeputyStation, Region, RosterSlot, SceneCode, Staff, Station
from tests.support import serve

CORP_ID = "wwlianxintest0001"
SECRET = "lianxin-sim-secret"
AGENT_ID = 1000002
TOKEN = "lianxinCallbackToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPEN_KFID = "wkLianxinTestKf01"
STATION_SCENE = "station-south"


@pytest.fixture()
def sim() -> Iterator[WeComSimulator]:
    """A started WeCom simulator; every acting call waits for its callback round trip."""
    s = WeComSimulator(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        open_kfid=OPEN_KFID,
        callback_timeout=5.0,
        wait_callbacks=True,
    )
    s.start()
    yield s
    s.stop()


def wecom_settings(sim: WeComSimulator, **extra: object) -> WecomSettings:
    """[wecom] matching the simulator."""
    return WecomSettings.model_validate(
        {
            "corp_id": CORP_ID,
            "secret": SecretStr(SECRET),
            "agent_id": AGENT_ID,
            "token": SecretStr(TOKEN),
            "encoding_aes_key": SecretStr(AES_KEY),
            "open_kfid": OPEN_KFID,
            "api_base": sim.base_url,
            "timeout_seconds": 3.0,
            **extra,
        }
    )


@pytest.fixture()
def settings(settings: Settings, sim: WeComSimulator) -> Settings:
    """Test settings with [wecom] pointing at the simulator; DingTalk at a closed local port."""
    dingtalk = DingtalkSettings(
        client_id="ding-unused", client_secret=SecretStr("x"), openapi_endpoint="http://127.0.0.1:9"
    )
    return settings.model_copy(
        update={"wecom": wecom_settings(sim), "dingtalk": dingtalk, "sandbox": "off"}
    )


@pytest.fixture()
def lianxin(rt: Runtime, sim: WeComSimulator) -> Iterator[str]:
    """The callback URL of lianxin's web app, registered with the simulator."""
    with serve(rt) as url:
        sim.callback_url = url
        yield url


@dataclass(frozen=True)
class Directory:
    """Ids of the seeded rows."""

    station_id: int
    deputy_id: int
    staff_id: int


GROUP_ID = "cidWecomTestStation=="


@pytest.fixture()
def directory(rt: Runtime) -> Directory:
    """One township with one station (DingTalk group, a deputy on duty every day, a staff
    member) and the station's kf scene."""
    with rt.sessions.begin() as s:
        region = Region(code="R1", name="幸福街道", level="township")
        s.add(region)
        s.flush()
        station = Station(
            code="ST-SOUTH",
            name="城南代表联络站",
            region_id=region.id,
            lat=34.59,
            lng=119.22,
            dingtalk_group_id=GROUP_ID,
        )
        s.add(station)
        s.flush()
        deputy = Deputy(code="D1", name="张伟", dingtalk_user_id="u-zhang")
        staff = Staff(
            code="S1",
            name="李娜",
            dingtalk_user_id="u-li",
            region_id=region.id,
            station_id=station.id,
        )
        s.add_all([deputy, staff])
        s.flush()
        s.add(DeputyStation(deputy_id=deputy.id, station_id=station.id))
        s.add_all(
            RosterSlot(station_id=station.id, deputy_id=deputy.id, weekday=d) for d in range(7)
        )
        s.add(SceneCode(scene=STATION_SCENE, station_id=station.id))
        return Directory(station.id, deputy.id, staff.id)
