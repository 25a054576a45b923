"""The package's public surface resolves to real objects."""

import eventbus


def test_every_name_in_all_resolves():
    for name in eventbus.__all__:
        assert getattr(eventbus, name) is not None, name
