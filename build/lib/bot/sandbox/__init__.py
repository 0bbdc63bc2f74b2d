"""The first-run sandbox: local WeCom and DingTalk simulators and the /sandbox page.

`launch.start_sandbox` runs inside `lianxin run` (the supervisor process): it starts both
simulators on loopback, fills an empty database from examples/directory.yaml and hands the
child processes the settings that point lianxin at the simulators. `web.blueprint` serves the
page; everything the page does goes through the simulators' control endpoints, which talk to
lianxin exactly as the platforms would (encrypted callbacks, Stream websocket frames).
"""
