"""Today's date and the dates derived from it, for tests that compare with what the app stores.

Modules import these names (`from tests.today import TODAY`) instead of computing them at
import time: a serial run of the suite takes over twenty minutes, and one that crosses
midnight in Asia/Shanghai would compare the day it was collected on with the day the app
writes. `tests/conftest.py` moves every module's imported names to the new day before each
test when the day has changed.
"""

import datetime
import sys

from django.utils import timezone


def todays_dates():
    today = timezone.localdate()
    this_month = today.replace(day=1)
    return {
        "TODAY": today,
        "THIS_YEAR": today.year,
        "THIS_MONTH": this_month,
        "LAST_MONTH": (this_month - datetime.timedelta(days=1)).replace(day=1),
        # Half past midnight on the first of the month: inside this month in every time zone test.
        "MONTH_START": timezone.make_aware(datetime.datetime.combine(this_month, datetime.time(0, 30))),
    }


_dates = todays_dates()
TODAY = _dates["TODAY"]
THIS_YEAR = _dates["THIS_YEAR"]
THIS_MONTH = _dates["THIS_MONTH"]
LAST_MONTH = _dates["LAST_MONTH"]
MONTH_START = _dates["MONTH_START"]


def refresh():
    """Rebind the names above, in every test module that imported them, when the day has changed.

    A module holds the objects computed at collection; only names still bound to those objects
    are moved, so a module's own fixed dates are left alone.
    """
    fresh = todays_dates()
    module = sys.modules[__name__]
    if fresh["TODAY"] == module.TODAY:
        return
    stale = {name: getattr(module, name) for name in fresh}
    for name, test_module in list(sys.modules.items()):
        if name == "tests" or name.startswith("tests."):
            for attribute, old in stale.items():
                if getattr(test_module, attribute, None) is old:
                    setattr(test_module, attribute, fresh[attribute])
