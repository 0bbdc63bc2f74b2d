"""Start the sandbox inside `lianxin run`: simulators on loopback, a directory, child settings.

Runs in the supervisor process, before the children start. The simulators serve from daemon
threads of this process; the children reach them over loopback HTTP and websockets only, with
the settings in `SandboxHandle.env`, exactly as they would reach WeCom and DingTalk.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.examples import DIRECTORY as EXAMPLE_DIRECTORY
from bot.readiness import INSTANCE_ENV, wait_until_ours
from bot.sandbox import common, published
from bot.simulators.dingtalk import DingTalkSimulator
from bot.simulators.wecom import WeComSimulator
from handlers import texts
from storage.db import make_engine, make_session_factory
from storage.models import Department, Deputy, DeputyStation, Region, Staff, Station

log = logging.getLogger(__name__)

SYNC_SECONDS = 5.0  # how often a directory imported later reaches the DingTalk simulator
READY_TIMEOUT = 120.0
_ANY_HOST = ("", "0.0.0.0", "::", "localhost")


@dataclass(frozen=True)
class OrgChart:
    """The DingTalk side of the directory: users (id → nick) and groups (id → title, members)."""

    users: tuple[tuple[str, str], ...]
    groups: tuple[tuple[str, str, tuple[str, ...]], ...]


@dataclass
class SandboxHandle:
    """The running sandbox: its simulators, the children's settings overrides, and `stop()`."""

    wecom: WeComSimulator
    dingtalk: DingTalkSimulator
    env: dict[str, str]
    url: str
    engine: Engine
    instance: str  # the web process that must answer /healthz before "ready" (bot.readiness)
    settings: Settings | None = None  # set once published for one-shot commands
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the background threads and both simulators (idempotent)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self.settings is not None:
            published.withdraw(self.settings)
        self.wecom.stop()
        self.dingtalk.stop()
        self.engine.dispose()


def loopback_host(host: str) -> str:
    """The address the simulators use to reach lianxin's web server bound to `host`."""
    return "127.0.0.1" if host in _ANY_HOST else host


def start_sandbox(
    settings: Settings,
    *,
    host: str,
    port: int,
    directory: Path = EXAMPLE_DIRECTORY,
    announce: Callable[[str], None] | None = None,
    instance: str | None = None,
) -> SandboxHandle:
    """Start both simulators, load the example directory into an empty database, return handle.

    `announce` receives one line once our own web process (`instance`, see bot.readiness)
    answers /healthz and both platforms are connected (default: print it).
    """
    if port <= 0:
        raise ValueError("the sandbox needs a fixed web port: WeCom callbacks are sent to it")
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    ensure_directory(sessions, directory)
    base = f"http://{loopback_host(host)}:{port}"
    wecom = WeComSimulator(
        corp_id=common.WECOM_CORP_ID,
        secret=common.WECOM_SECRET,
        agent_id=common.WECOM_AGENT_ID,
        token=common.WECOM_TOKEN,
        encoding_aes_key=common.WECOM_AES_KEY,
        open_kfid=common.WECOM_OPEN_KFID,
        callback_url=f"{base}/wecom/callback",
    )
    dingtalk = DingTalkSimulator(
        client_id=common.DINGTALK_CLIENT_ID, client_secret=common.DINGTALK_CLIENT_SECRET
    )
    wecom.start()
    try:
        dingtalk.start()
        handle = SandboxHandle(
            wecom=wecom,
            dingtalk=dingtalk,
            env=child_env(wecom, dingtalk, base),
            url=f"{base}/sandbox",
            engine=engine,
            instance=instance or secrets.token_hex(8),
        )
        handle.env[INSTANCE_ENV] = handle.instance
        chart = sync_directory(sessions, dingtalk, None)
    except BaseException:
        wecom.stop()
        dingtalk.stop()
        engine.dispose()
        raise
    published.publish(settings, handle.env)
    handle.settings = settings
    _spawn(handle, "sandbox-directory", lambda: _keep_in_sync(handle, sessions, chart))
    _spawn(handle, "sandbox-ready", lambda: _announce_ready(handle, announce or _print))
    log.info("sandbox: WeCom simulator %s, DingTalk simulator %s", wecom.sim_url, dingtalk.endpoint)
    return handle


def child_env(wecom: WeComSimulator, dingtalk: DingTalkSimulator, base: str) -> dict[str, str]:
    """Settings overrides for web/worker/scheduler/stream, plus where the page finds the sims."""
    return {
        "LIANXIN_SANDBOX": "on",  # with credentials set, "auto" would mean production
        "LIANXIN_WEB__PUBLIC_URL": base,
        "LIANXIN_WECOM__CORP_ID": common.WECOM_CORP_ID,
        "LIANXIN_WECOM__SECRET": common.WECOM_SECRET,
        "LIANXIN_WECOM__AGENT_ID": str(common.WECOM_AGENT_ID),
        "LIANXIN_WECOM__TOKEN": common.WECOM_TOKEN,
        "LIANXIN_WECOM__ENCODING_AES_KEY": common.WECOM_AES_KEY,
        "LIANXIN_WECOM__OPEN_KFID": common.WECOM_OPEN_KFID,
        "LIANXIN_WECOM__API_BASE": wecom.base_url,
        "LIANXIN_DINGTALK__CLIENT_ID": common.DINGTALK_CLIENT_ID,
        "LIANXIN_DINGTALK__CLIENT_SECRET": common.DINGTALK_CLIENT_SECRET,
        "LIANXIN_DINGTALK__OPENAPI_ENDPOINT": dingtalk.endpoint,
        # the workbench's 扫码登录 and 免登 go to the simulator, whose login page is the
        # sandbox's "log in as…" picker (it lists the example county's people)
        "LIANXIN_DINGTALK__OAPI_ENDPOINT": dingtalk.endpoint,
        "LIANXIN_DINGTALK__LOGIN_ENDPOINT": dingtalk.endpoint,
        "LIANXIN_DINGTALK__CARD_TEMPLATE_ID": common.DINGTALK_CARD_TEMPLATE_ID,
        "LIANXIN_DINGTALK__SOLICIT_CARD_TEMPLATE_ID": common.DINGTALK_SOLICIT_TEMPLATE_ID,
        common.ENV_WECOM_SIM: wecom.sim_url,
        common.ENV_DINGTALK_SIM: f"{dingtalk.endpoint}/_sim/",
        # a new WeChat user per launch: the database may hold last run's open cases
        common.ENV_VISITOR: "wmSandbox" + secrets.token_hex(6),
    }


# ---------------------------------------------------------------- directory


def ensure_directory(sessions: sessionmaker[Session], path: Path) -> bool:
    """Import the example directory when the database has no station yet; True if imported."""
    from storage.directory import DirectoryImportError, import_directory

    with sessions() as session:
        if session.scalar(select(Station.id).limit(1)) is not None:
            return False
    if not path.exists():
        log.warning("sandbox: %s not found; starting with an empty directory", path)
        return False
    try:
        with sessions.begin() as session:
            import_directory(session, path)
    except DirectoryImportError as exc:
        for err in exc.report.errors:
            log.warning("sandbox: %s row %s: %s", err.source, err.row, err.reason)
        log.warning("sandbox: %s not imported; starting with an empty directory", path)
        return False
    log.info("sandbox: imported %s", path)
    return True


def org_chart(session: Session) -> OrgChart:
    """Who is in which DingTalk group, derived from the directory.

    Station group: the station's deputies, its staff and region-level staff above it.
    Office group: every staff member of the region and below. Department group: a liaison
    the sandbox invents (the directory has no department people).
    """
    deputies = list(session.scalars(select(Deputy).order_by(Deputy.id)))
    staff = [s for s in session.scalars(select(Staff).order_by(Staff.id)) if s.dingtalk_user_id]
    regions = {r.id: r for r in session.scalars(select(Region))}
    users = [(d.dingtalk_user_id, d.name) for d in deputies]
    users += [(str(s.dingtalk_user_id), s.name) for s in staff]
    by_id = {d.id: d.dingtalk_user_id for d in deputies}
    members: dict[int, list[str]] = {}
    for link in session.scalars(select(DeputyStation)):
        members.setdefault(link.station_id, []).append(by_id[link.deputy_id])
    groups: list[tuple[str, str, tuple[str, ...]]] = []
    for st in session.scalars(select(Station).order_by(Station.id)):
        if not st.dingtalk_group_id:
            continue
        chain = _ancestors(regions, st.region_id)
        people = sorted(members.get(st.id, []))
        people += [
            str(s.dingtalk_user_id)
            for s in staff
            if s.station_id == st.id or (s.station_id is None and s.region_id in chain)
        ]
        groups.append((st.dingtalk_group_id, st.name, tuple(dict.fromkeys(people))))
    for region in regions.values():
        if region.office_group_id:
            people = [
                str(s.dingtalk_user_id)
                for s in staff
                if region.id in _ancestors(regions, s.region_id)
            ]
            groups.append(
                (
                    region.office_group_id,
                    texts.office_group_title(region.level, region.name),
                    tuple(people),
                )
            )
    for dept in session.scalars(select(Department).order_by(Department.id)):
        if dept.dingtalk_group_id:
            liaison = common.department_user_id(dept.code)
            users.append((liaison, common.department_user_name(dept.name)))
            groups.append((dept.dingtalk_group_id, f"{dept.name}工作群", (liaison,)))
    return OrgChart(tuple(dict.fromkeys(users)), tuple(groups))


def _ancestors(regions: dict[int, Region], region_id: int | None) -> list[int]:
    chain: list[int] = []
    while region_id is not None and region_id in regions and region_id not in chain:
        chain.append(region_id)
        region_id = regions[region_id].parent_id
    return chain


def sync_directory(
    sessions: sessionmaker[Session], dingtalk: DingTalkSimulator, known: OrgChart | None
) -> OrgChart:
    """Register the directory's users and groups in the DingTalk simulator when they changed."""
    with sessions() as session:
        chart = org_chart(session)
    if chart == known:
        return chart
    for user_id, nick in chart.users:
        dingtalk.add_user(user_id, nick)
    for conversation_id, title, people in chart.groups:
        dingtalk.add_group(conversation_id, title, list(people))
    log.info("sandbox: %d DingTalk users, %d groups", len(chart.users), len(chart.groups))
    return chart


# ---------------------------------------------------------------- background threads


def _spawn(handle: SandboxHandle, name: str, target: Callable[[], None]) -> None:
    thread = threading.Thread(target=target, name=name, daemon=True)
    handle._threads.append(thread)
    thread.start()


def _keep_in_sync(handle: SandboxHandle, sessions: sessionmaker[Session], chart: OrgChart) -> None:
    # `lianxin directory import` may add stations while the sandbox runs
    while not handle._stopping.wait(SYNC_SECONDS):
        try:
            chart = sync_directory(sessions, handle.dingtalk, chart)
        except Exception as exc:  # a locked database or a half-written import: next round
            log.debug("sandbox: directory sync skipped: %s", exc)


def _announce_ready(handle: SandboxHandle, announce: Callable[[str], None]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    base = handle.url.rsplit("/", 1)[0]
    if not wait_until_ours(base, handle.instance, handle._stopping, READY_TIMEOUT):
        if not handle._stopping.is_set():
            log.warning("sandbox: %s did not answer within %.0fs", handle.url, READY_TIMEOUT)
        return
    try:
        handle.wecom.verify_url()  # what an admin's 保存 in the WeCom console does
    except Exception as exc:
        log.warning("sandbox: WeCom callback URL verification failed: %s", exc)
    while not handle._stopping.is_set() and time.monotonic() < deadline:
        if handle.dingtalk.connections() > 0:
            break
        handle._stopping.wait(0.2)
    else:
        if not handle._stopping.is_set():
            log.warning("sandbox: the DingTalk Stream connection is not up yet")
    if handle._stopping.is_set():
        return
    announce(f"lianxin sandbox is ready: {handle.url}")


def _print(line: str) -> None:
    print(line, flush=True)
