"""The help center's core, with no Telegram in it: packages in layers, each importing only those
before it: knowledge → understanding → answers → core.py → storage → desk → reports
(tests/test_layering.py holds the order; nothing here imports telegram or handlers)."""
