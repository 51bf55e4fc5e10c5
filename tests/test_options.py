"""Tests of comet._private.options: validation of @remote options, merging
and the resources a task or actor holds."""

from __future__ import annotations

import math

import pytest

from comet._private import options as opt


class Strategy:
    """Stands in for a scheduling strategy object."""

    _comet_strategy = "node_affinity"


class PlacementGroup:
    """Stands in for a placement group handle."""


# --------------------------------------------------------------------------
# Task options: accepted values.

GOOD_TASK_OPTIONS = [
    {},
    {"num_cpus": 0}, {"num_cpus": 2}, {"num_cpus": 0.5}, {"num_cpus": None},
    {"num_gpus": 0}, {"num_gpus": 0.25}, {"num_gpus": 1}, {"num_gpus": 4}, {"num_gpus": 2.0},
    {"resources": {"custom": 1}}, {"resources": {"a": 0.5, "b": 0}}, {"resources": {}},
    {"resources": None},
    {"memory": 0}, {"memory": 2**30}, {"object_store_memory": 100},
    {"num_returns": 0}, {"num_returns": 3}, {"num_returns": "streaming"},
    {"num_returns": "dynamic"},
    {"max_retries": -1}, {"max_retries": 0}, {"max_retries": 5},
    {"retry_exceptions": True}, {"retry_exceptions": False},
    {"retry_exceptions": (ValueError,)}, {"retry_exceptions": [ValueError, OSError]},
    {"scheduling_strategy": None}, {"scheduling_strategy": "DEFAULT"},
    {"scheduling_strategy": "SPREAD"}, {"scheduling_strategy": Strategy()},
    {"name": "my_task"}, {"name": None},
    {"runtime_env": None}, {"runtime_env": {}},
    {"runtime_env": {"env_vars": {"A": "1"}, "working_dir": ".", "pip": ["numpy"],
                     "py_modules": ["m"], "excludes": ["*.log"], "config": {}}},
    {"accelerator_type": "A100"}, {"accelerator_type": None},
    {"label_selector": {}}, {"label_selector": None},
    {"_metadata": {"ns": {"k": "v"}}},
    {"placement_group": PlacementGroup(), "placement_group_bundle_index": 0,
     "placement_group_capture_child_tasks": True},
    {"placement_group": "default"},
    {"max_calls": 0}, {"max_calls": 10},
    {"enable_task_events": False},
]


@pytest.mark.parametrize("options", GOOD_TASK_OPTIONS, ids=repr)
def test_good_task_options(options):
    validated = opt.validate_task_options(options)
    assert validated.keys() == options.keys()
    assert validated is not options


def test_validation_normalizes_and_copies():
    given = {"retry_exceptions": [ValueError], "resources": {"a": 1}}
    validated = opt.validate_task_options(given)
    assert validated["retry_exceptions"] == (ValueError,)
    assert validated["resources"] == {"a": 1}
    assert validated["resources"] is not given["resources"]
    strategy = Strategy()
    assert opt.validate_task_options({"scheduling_strategy": strategy})[
        "scheduling_strategy"] is strategy


# --------------------------------------------------------------------------
# Task options: rejected values, with messages.

BAD_TASK_OPTIONS = [
    ({"num_cpus": -1}, "num_cpus"),
    ({"num_cpus": "1"}, "num_cpus"),
    ({"num_cpus": True}, "num_cpus"),
    ({"num_cpus": math.nan}, "num_cpus"),
    ({"num_cpus": math.inf}, "num_cpus"),
    ({"num_gpus": -0.5}, "num_gpus"),
    ({"num_gpus": 1.5}, "whole number"),
    ({"num_gpus": "all"}, "num_gpus"),
    ({"resources": {"CPU": 1}}, "num_cpus"),
    ({"resources": {"GPU": 1}}, "num_gpus"),
    ({"resources": {"memory": 1}}, "'memory' option"),
    ({"resources": {"custom": -1}}, "custom"),
    ({"resources": {"custom": "1"}}, "custom"),
    ({"resources": {1: 1}}, "resource name"),
    ({"resources": {"": 1}}, "resource name"),
    ({"resources": [("a", 1)]}, "resources"),
    ({"memory": -1}, "memory"),
    ({"num_returns": -1}, "num_returns"),
    ({"num_returns": 1.0}, "num_returns"),
    ({"num_returns": "many"}, "streaming"),
    ({"max_retries": -2}, "max_retries"),
    ({"max_retries": 1.5}, "max_retries"),
    ({"max_retries": None}, "max_retries"),
    ({"retry_exceptions": "yes"}, "retry_exceptions"),
    ({"retry_exceptions": [ValueError, "KeyError"]}, "exception classes"),
    ({"retry_exceptions": [int]}, "exception classes"),
    ({"scheduling_strategy": "RANDOM"}, "SPREAD"),
    ({"scheduling_strategy": 3}, "scheduling_strategy"),
    ({"name": 5}, "name"),
    ({"runtime_env": "env"}, "runtime_env"),
    ({"runtime_env": {"env_vars": {"A": 1}}}, "env_vars"),
    ({"runtime_env": {"env_vars": ["A=1"]}}, "env_vars"),
    ({"runtime_env": {"working_dir": 3}}, "working_dir"),
    ({"runtime_env": {"pip": 3}}, "pip"),
    ({"runtime_env": {"conda": "env"}}, "'conda' is not supported"),
    ({"runtime_env": {"custom_plugin": 1}}, "Unknown runtime_env field 'custom_plugin'"),
    ({"runtime_env": {"py_modules": "m"}}, "py_modules"),
    ({"runtime_env": {1: 2}}, "field"),
    ({"accelerator_type": 100}, "accelerator_type"),
    ({"label_selector": {"zone": 1}}, "label_selector"),
    ({"_metadata": [1]}, "_metadata"),
    ({"placement_group_bundle_index": -2}, "placement_group_bundle_index"),
    ({"placement_group_capture_child_tasks": "yes"}, "capture"),
    ({"placement_group": PlacementGroup(), "scheduling_strategy": Strategy()}, "not both"),
    ({"max_calls": -1}, "max_calls"),
]


@pytest.mark.parametrize("options, fragment", BAD_TASK_OPTIONS, ids=repr)
def test_bad_task_options(options, fragment):
    with pytest.raises((TypeError, ValueError), match=fragment):
        opt.validate_task_options(options)


def test_bad_value_message_shows_value_and_expectation():
    with pytest.raises(TypeError) as info:
        opt.validate_task_options({"max_retries": "3"})
    assert str(info.value) == ("Invalid type for option 'max_retries': '3' (type "
                               "str); expected an int >= -1 (-1: retry forever).")
    with pytest.raises(ValueError) as info:
        opt.validate_task_options({"max_retries": -3})
    assert str(info.value) == ("Invalid value for option 'max_retries': -3 (type "
                               "int); expected an int >= -1 (-1: retry forever).")


@pytest.mark.parametrize("options, error", [
    ({"num_cpus": "x"}, TypeError), ({"num_cpus": -1}, ValueError),
    ({"max_retries": "a"}, TypeError), ({"max_retries": -2}, ValueError),
    ({"num_returns": 1.0}, TypeError), ({"num_returns": -1}, ValueError),
    ({"num_returns": "many"}, ValueError), ({"retry_exceptions": "yes"}, TypeError),
    ({"retry_exceptions": [int]}, ValueError), ({"scheduling_strategy": 3}, TypeError),
    ({"scheduling_strategy": "RANDOM"}, ValueError), ({"name": 5}, TypeError),
    ({"resources": [1]}, TypeError), ({"num_gpus": 2.5}, ValueError),
], ids=repr)
def test_wrong_types_raise_type_error_and_bad_values_value_error(options, error):
    """Ray: an option of the wrong type raises TypeError, a value out of range
    ValueError."""
    with pytest.raises(error):
        opt.validate_task_options(options)


def test_unknown_option_suggests_and_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        opt.validate_task_options({"num_cpu": 1})
    message = str(info.value)
    assert "Invalid option 'num_cpu'" in message
    assert "Did you mean 'num_cpus'?" in message
    assert "max_retries" in message and "num_gpus" in message
    with pytest.raises(ValueError, match="Valid options are") as info:
        opt.validate_task_options({"zzzzzz": 1})
    assert "Did you mean" not in str(info.value)


def test_actor_only_options_are_unknown_for_tasks_and_vice_versa():
    with pytest.raises(ValueError, match="Invalid option 'max_restarts'"):
        opt.validate_task_options({"max_restarts": 1})
    with pytest.raises(ValueError, match="Did you mean 'max_task_retries'"):
        opt.validate_actor_options({"max_retries": 1})
    with pytest.raises(ValueError, match="Invalid option 'num_returns'"):
        opt.validate_actor_options({"num_returns": 1})


def test_options_must_be_a_mapping():
    with pytest.raises(TypeError):
        opt.validate_task_options([("num_cpus", 1)])


# --------------------------------------------------------------------------
# Actor options.

GOOD_ACTOR_OPTIONS = [
    {},
    {"num_cpus": 1, "num_gpus": 0.5, "resources": {"r": 2}, "memory": 10},
    {"max_restarts": -1}, {"max_restarts": 0}, {"max_restarts": 3},
    {"max_task_retries": -1}, {"max_task_retries": 2},
    {"max_concurrency": 1}, {"max_concurrency": 100}, {"max_concurrency": None},
    {"lifetime": None}, {"lifetime": "detached"}, {"lifetime": "non_detached"},
    {"name": "counter", "namespace": "ns"}, {"namespace": None},
    {"name": "counter", "get_if_exists": True}, {"get_if_exists": False},
    {"concurrency_groups": {"io": 2, "compute": 4}}, {"concurrency_groups": None},
    {"max_pending_calls": -1}, {"max_pending_calls": 1}, {"max_pending_calls": 1000},
    {"placement_group": PlacementGroup(), "placement_group_bundle_index": -1,
     "placement_group_capture_child_tasks": False},
    {"scheduling_strategy": "SPREAD"}, {"runtime_env": {"env_vars": {"X": "y"}}},
    {"accelerator_type": "H100"}, {"label_selector": {}}, {"_metadata": {}},
    {"allow_out_of_order_execution": True},
]


@pytest.mark.parametrize("options", GOOD_ACTOR_OPTIONS, ids=repr)
def test_good_actor_options(options):
    assert opt.validate_actor_options(options).keys() == options.keys()


BAD_ACTOR_OPTIONS = [
    ({"max_restarts": -2}, "max_restarts"),
    ({"max_restarts": 1.0}, "max_restarts"),
    ({"max_task_retries": "1"}, "max_task_retries"),
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"max_concurrency": True}, "max_concurrency"),
    ({"lifetime": "forever"}, "detached"),
    ({"lifetime": 1}, "lifetime"),
    ({"namespace": 3}, "namespace"),
    ({"name": ""}, "empty"),
    ({"name": 3}, "name"),
    ({"get_if_exists": 1}, "get_if_exists"),
    ({"get_if_exists": True}, "needs the actor's 'name'"),
    ({"concurrency_groups": {"io": 0}}, "io"),
    ({"concurrency_groups": {"io": 1.5}}, "io"),
    ({"concurrency_groups": {"": 1}}, "group name"),
    ({"concurrency_groups": ["io"]}, "concurrency_groups"),
    ({"max_pending_calls": 0}, "max_pending_calls"),
    ({"max_pending_calls": -2}, "max_pending_calls"),
    ({"num_cpus": -1}, "num_cpus"),
    ({"resources": {"CPU": 1}}, "num_cpus"),
    ({"num_gpus": 2.5}, "whole number"),
]


@pytest.mark.parametrize("options, fragment", BAD_ACTOR_OPTIONS, ids=repr)
def test_bad_actor_options(options, fragment):
    with pytest.raises((TypeError, ValueError), match=fragment):
        opt.validate_actor_options(options)


def test_actor_method_options():
    assert opt.validate_actor_method_options(
        {"num_returns": 2, "concurrency_group": "io", "max_task_retries": 1,
         "retry_exceptions": [KeyError]}) == {
        "num_returns": 2, "concurrency_group": "io", "max_task_retries": 1,
        "retry_exceptions": (KeyError,)}
    with pytest.raises(ValueError, match="Did you mean 'num_returns'"):
        opt.validate_actor_method_options({"num_return": 2})
    with pytest.raises(ValueError, match="num_cpus"):
        opt.validate_actor_method_options({"num_cpus": 1})
    with pytest.raises(TypeError, match="concurrency_group"):
        opt.validate_actor_method_options({"concurrency_group": 1})


def test_option_name_sets():
    assert {"num_cpus", "num_returns", "max_retries", "retry_exceptions"} <= opt.TASK_OPTION_NAMES
    assert {"max_restarts", "lifetime", "concurrency_groups"} <= opt.ACTOR_OPTION_NAMES
    assert "num_returns" not in opt.ACTOR_OPTION_NAMES
    assert set(opt.DEFAULT_TASK_OPTIONS) <= opt.TASK_OPTION_NAMES
    assert set(opt.DEFAULT_ACTOR_OPTIONS) <= opt.ACTOR_OPTION_NAMES
    assert set(opt.DEFAULT_ACTOR_METHOD_OPTIONS) <= opt.ACTOR_METHOD_OPTION_NAMES


# --------------------------------------------------------------------------
# Defaults, merging and resources.


def test_defaults():
    assert dict(opt.DEFAULT_TASK_OPTIONS) == {
        "num_cpus": 1, "num_gpus": 0, "num_returns": 1, "max_retries": 3,
        "retry_exceptions": False}
    assert opt.DEFAULT_ACTOR_OPTIONS["num_cpus"] == 0
    assert opt.DEFAULT_ACTOR_OPTIONS["max_restarts"] == 0
    # The defaults pass their own validation.
    opt.validate_task_options(opt.DEFAULT_TASK_OPTIONS)
    opt.validate_actor_options(opt.DEFAULT_ACTOR_OPTIONS)


def test_merge_options_overrides_and_keeps_inputs():
    base = {"num_cpus": 1, "resources": {"a": 1}, "name": "f"}
    overrides = {"num_cpus": 2, "resources": {"b": 1}}
    merged = opt.merge_options(base, overrides)
    assert merged == {"num_cpus": 2, "resources": {"b": 1}, "name": "f"}
    assert base == {"num_cpus": 1, "resources": {"a": 1}, "name": "f"}
    assert opt.merge_options(base, {}) == base
    assert opt.merge_options(base, {}) is not base


def test_merge_options_merges_metadata_namespaces():
    base = {"_metadata": {"ns1": {"a": 1, "b": 2}, "ns2": {"x": 1}}}
    merged = opt.merge_options(base, {"_metadata": {"ns1": {"b": 3}, "ns3": {"y": 1}}})
    assert merged["_metadata"] == {"ns1": {"a": 1, "b": 3}, "ns2": {"x": 1},
                                   "ns3": {"y": 1}}
    assert base["_metadata"]["ns1"] == {"a": 1, "b": 2}


def test_resources_from_options():
    assert opt.resources_from_options({}) == {"CPU": 1.0}
    assert opt.resources_from_options({}, actor=True) == {}
    assert opt.resources_from_options({"num_cpus": 0}) == {}
    assert opt.resources_from_options({"num_cpus": None}) == {"CPU": 1.0}
    demand = opt.resources_from_options({
        "num_cpus": 2, "num_gpus": 0.5, "memory": 1024,
        "resources": {"custom": 3, "unused": 0}})
    assert demand == {"CPU": 2.0, "GPU": 0.5, "memory": 1024.0, "custom": 3.0}
    assert all(type(v) is float for v in demand.values())
    assert opt.resources_from_options({"num_gpus": 1}, actor=True) == {"GPU": 1.0}


def test_a_label_selector_is_refused_until_nodes_have_labels():
    """Comet nodes carry no labels: a selector with entries could never be
    honoured, so it fails at the call site instead of being ignored."""
    for validate in (opt.validate_task_options, opt.validate_actor_options):
        with pytest.raises(NotImplementedError, match="label_selector"):
            validate({"label_selector": {"zone": "a"}})


def test_accelerator_type_demands_the_nodes_accelerator_resource():
    """Ray: accelerator_type="A100" asks for a sliver of accelerator_type:A100,
    which nodes with such GPUs offer."""
    demand = opt.resources_from_options({"accelerator_type": "A100", "num_gpus": 1})
    assert demand == {"CPU": 1.0, "GPU": 1.0, "accelerator_type:A100": 0.001}
