"""What the sandbox launcher (supervisor process) and the sandbox page (web process) share.

The simulators live in the `lianxin run` process; the web child finds them through these
environment variables. They deliberately do not start with `LIANXIN_`: that prefix is reserved
for settings overrides, and an unknown settings key is a configuration error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_WECOM_SIM = "LX_SANDBOX_WECOM_SIM"  # e.g. http://127.0.0.1:PORT/_sim/
ENV_DINGTALK_SIM = "LX_SANDBOX_DINGTALK_SIM"  # e.g. http://127.0.0.1:PORT/_sim/
ENV_VISITOR = "LX_SANDBOX_VISITOR"  # the WeChat user the page plays by default

# Fixed, obviously fake credentials: the simulators accept exactly these.
WECOM_CORP_ID = "wwlianxinsandbox01"
WECOM_SECRET = "lianxin-sandbox-wecom-secret"
WECOM_AGENT_ID = 1000002
WECOM_TOKEN = "LianxinSandboxToken"
WECOM_AES_KEY = "LianxinSandboxAesKey0123456789abcdefghijklm"  # 43 letters and digits
WECOM_OPEN_KFID = "wkLianxinSandbox0001"
DINGTALK_CLIENT_ID = "dinglianxinsandbox"
DINGTALK_CLIENT_SECRET = "lianxin-sandbox-dingtalk-secret"
DINGTALK_CARD_TEMPLATE_ID = "lianxin-sandbox.case_card"
DINGTALK_SOLICIT_TEMPLATE_ID = "lianxin-sandbox.solicit_card"


def department_user_id(code: str) -> str:
    """The DingTalk userId of a department's liaison, a person the sandbox adds to its group.

    The directory has no department people; in the department's group anyone who is not a
    deputy or staff member speaks for the department, so the page can play them.
    """
    return f"sandbox-dept-{code}"


def department_user_name(name: str) -> str:
    """Display name of a department's liaison."""
    return f"{name}联络员"


@dataclass(frozen=True)
class SimEndpoints:
    """Where the page's API finds the simulators' /_sim/ control routes."""

    wecom: str
    dingtalk: str
    visitor: str

    @classmethod
    def from_env(cls) -> SimEndpoints | None:
        """The endpoints `lianxin run` exported, or None when this process was started alone."""
        wecom = os.environ.get(ENV_WECOM_SIM, "")
        dingtalk = os.environ.get(ENV_DINGTALK_SIM, "")
        if not (wecom and dingtalk):
            return None
        visitor = os.environ.get(ENV_VISITOR, "") or "wmSandboxVisitor"
        return cls(_slash(wecom), _slash(dingtalk), visitor)


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
