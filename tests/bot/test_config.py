"""Settings: file discovery, environment overrides, and errors that name file, key and allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, load_settings


def test_defaults_use_embedded_sqlite_and_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.source == "built-in defaults"
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/lianxin.db")
    assert s.redis.url == ""
    assert s.sandbox_mode  # no platform credentials


def test_file_then_environment(tmp_path: Path):
    cfg = tmp_path / "x.toml"
    cfg.write_text('[web]\nport = 9000\n[wecom]\ncorp_id = "ww1"\nsecret = "s3cr3t"\n')
    s = load_settings(cfg, environ={"LIANXIN_WEB__PORT": "9100", "LIANXIN_SLA__CLAIM_DAYS": "2"})
    assert s.web.port == 9100 and s.sla.claim_days == 2
    assert s.wecom.configured and not s.sandbox_mode
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in str(s.model_dump())


def test_lianxin_config_env_and_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lianxin.toml").write_text("[web]\nport = 8123\n")
    assert load_settings(environ={}).web.port == 8123
    other = tmp_path / "other.toml"
    other.write_text("[web]\nport = 8124\n")
    monkeypatch.setenv("LIANXIN_CONFIG", str(other))
    assert load_settings().web.port == 8124


def test_unknown_key_names_file_key_and_allowed(tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[wecom]\ncorpid = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    msg = str(err.value)
    assert str(cfg) in msg and "wecom.corpid" in msg and "corp_id" in msg


def test_bad_value_from_env_names_the_variable_and_hides_the_value():
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={"LIANXIN_WECOM__ENCODING_AES_KEY": "short-secret"})
    msg = str(err.value)
    assert "LIANXIN_WECOM__ENCODING_AES_KEY" in msg and "43" in msg
    assert "short-secret" not in msg


def test_example_config_is_valid_and_documents_every_key():
    example = Path(__file__).parents[2] / "config.example.toml"
    s = load_settings(example, environ={})
    text = example.read_text()
    for section, model in s:
        if isinstance(model, BaseModel):
            for key in type(model).model_fields:
                assert f"{key} =" in text or f"# {key} =" in text, f"[{section}] {key} undocumented"


def test_broken_toml_is_reported(tmp_path: Path):
    cfg = tmp_path / "broken.toml"
    cfg.write_text("[web\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cfg, environ={})


def test_data_directory_is_never_the_current_directory_by_accident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("LIANXIN_CONFIG", raising=False)
    checkout = Path(__file__).parents[2]
    # no config file: the checkout lianxin runs from (`make run` keeps using ./var there)
    assert load_settings(environ={}).var_dir == checkout / "var"
    site = tmp_path / "site"
    site.mkdir()
    cfg = site / "lianxin.toml"
    cfg.write_text("[web]\nport = 8001\n")
    assert load_settings(cfg, environ={}).var_dir == site / "var"  # next to the config file
    cfg.write_text('var_dir = "data/lx"\n')
    assert load_settings(cfg, environ={}).var_dir == site / "data" / "lx"
    cfg.write_text(f'var_dir = "{tmp_path / "abs"}"\n')
    assert load_settings(cfg, environ={}).var_dir == tmp_path / "abs"
    # typed by the operator in this shell: relative to where they typed it
    env = {"LIANXIN_VAR_DIR": "here"}
    assert load_settings(cfg, environ=env).var_dir == elsewhere / "here"
    assert (
        load_settings(cfg, environ=env).database_url == f"sqlite:///{elsewhere / 'here'}/lianxin.db"
    )


def test_installed_without_checkout_uses_the_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from bot.config import default_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir(tmp_path / "site-packages") == tmp_path / "xdg" / "lianxin"
