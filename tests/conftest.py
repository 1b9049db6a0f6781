import asyncio
import inspect
from datetime import datetime

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        metavar="ISO_INSTANT",
        help="run with the process clock moved to this instant (it keeps ticking), e.g. 2028-02-29T10:00:00+09:00",
    )


def pytest_configure(config):
    """`--clock` proves a suite does not depend on when it runs: every "now" in the process starts there."""
    at = config.getoption("--clock")
    if at:
        import time_machine

        instant = datetime.fromisoformat(at)
        if instant.tzinfo is None:
            raise pytest.UsageError("--clock needs a time zone, e.g. 2028-02-29T10:00:00+09:00")
        config.stash[_TRAVEL] = time_machine.travel(instant, tick=True)
        config.stash[_TRAVEL].start()


def pytest_unconfigure(config):
    travel = config.stash.get(_TRAVEL, None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config):
    at = config.getoption("--clock")
    return f"clock moved to {at}" if at else None


_TRAVEL = pytest.StashKey()


@pytest.fixture(autouse=True)
def _clock_marker(request):
    """`@pytest.mark.clock("2026-12-02T12:00:00+09:00")`: the test, its fixtures included, runs from that instant."""
    marker = request.node.get_closest_marker("clock")
    if marker is None:
        yield
        return
    import time_machine

    with time_machine.travel(datetime.fromisoformat(marker.args[0]), tick=True):
        yield


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs `async def` tests on a fresh event loop."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**arguments))
        return True
    return None
