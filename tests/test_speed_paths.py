"""What the speed-ups of `jixiao extract` rest on (benchmarks/throughput.py measures them): a
start-up without the modules only other commands use, a swap test that copies only what it
changes, and the garbage collector's settings put back after a run."""

import gc
import subprocess
import sys

from jixiao.schema import value_at
from jixiao.validate.swaps import swapped
from jixiao.workers import fewer_collections

from test_validate import se


def test_the_extract_command_starts_without_the_store_or_the_evaluation():
    # Importing them is a fifth of `jixiao extract`'s start-up CPU; the commands that use them import them.
    code = ("import sys, jixiao.cli; print(' '.join(m for m in ('jixiao.store', 'jixiao.batch', 'jixiao.eval_runs', "
            "'jixiao.evaluate', 'jixiao.report', 'jixiao.export', 'jinja2', 'jsonlines') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_a_swapped_copy_leaves_the_form_it_was_made_from_as_read():
    # The copy shares every row and fund row it does not change: a write through it must not reach the form.
    rows = se().indicators
    rows[0].score = 45.0  # every pair below holds two different figures
    form = se(indicators=[r.model_dump() for r in rows])
    before = form.model_dump()
    pairs = [("indicators[0].weight", "indicators[0].score"), ("funds.total.annual_budget", "funds.total.executed"),
             ("total_weight", "total_score")]
    for a, b in pairs:
        copy = swapped(form, a, b)
        assert (value_at(copy, a), value_at(copy, b)) == (value_at(form, b), value_at(form, a))
        assert value_at(form, a) != value_at(form, b)
    assert form.model_dump() == before
    # Both cells of one row swapped in the copy: the row is copied once per write, each keeping the other's.
    copy = swapped(form, "indicators[1].target", "indicators[1].actual")
    assert (copy.indicators[1].target, copy.indicators[1].actual) == (form.indicators[1].actual,
                                                                      form.indicators[1].target)
    assert copy.indicators[0] is form.indicators[0]  # the rows it leaves alone are shared, not copied


def test_fewer_collections_during_a_run_and_the_settings_put_back_after():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] > before[0]
    assert gc.get_threshold() == before
