"""A faithful local WeCom (企业微信) server for tests and the sandbox.

`WeComSimulator` serves `/cgi-bin/` like qyapi.weixin.qq.com (gettoken, media, message/send,
message/update_template_card, kf/*) and sends real encrypted callbacks (wechatpy crypto,
receiveid = corp_id) to `callback_url`, with WeCom's 5 s timeout and retries.

Rules where the WeCom docs are silent (simulator choices):

- Callbacks: one attempt plus `callback_retries` retries (default 3, so at most 4 POSTs),
  sent back to back with the identical request. A 200 with an empty body is accepted; any other
  200 body must be a valid encrypted reply envelope, else the delivery records `reply_error`.
- gettoken issues a new token on every call; earlier tokens stay valid until their own expiry.
- kf/sync_msg: an unknown or >10-minute-old callback token answers 95007; no token at all is
  allowed twice per minute, then 45009. An unknown cursor answers 40035.
- kf/send_msg: a repeated caller msgid answers 40035 "duplicate msgid" and is not delivered;
  no customer message within 48 h (or never) answers 95002; quota exhausted 95001; session
  state other than 0/1 answers 95018. Text is limited to 2048 bytes (45002), empty is 44004.
- kf/send_msg_on_event: an unknown, used or >20 s old code answers 40035.
- message/send: text/markdown over 2048 bytes are truncated; the simulator has no departments
  or tags (every toparty/totag is invalid); a repeated template card task_id answers 40035.
- message/update_template_card: unknown, used or >24 h old response_code answers 40035.
- Any JSON body with `\\uXXXX` escapes answers 40033 (send UTF-8, `ensure_ascii=False`).
"""

from bot.simulators.wecom import errors
from bot.simulators.wecom.callbacks import CallbackDelivery
from bot.simulators.wecom.crypto import CallbackCrypto, percent_encoded_query, sign
from bot.simulators.wecom.simulator import WeComSimulator

__all__ = [
    "CallbackCrypto",
    "CallbackDelivery",
    "WeComSimulator",
    "errors",
    "percent_encoded_query",
    "sign",
]
