"""Actors: what ``@comet.remote`` makes of a class, and handles to them."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from comet import exceptions
from comet._private import options as opts
from comet._private import runtime_env, serialization, worker_context
from comet._private.generator import ObjectRefGenerator
from comet._private.signature import ArgChecker, param_spec
from comet._private.task_args import build_args, placement_resources


def method(*, num_returns: int | str = 1, concurrency_group: str | None = None,
           max_task_retries: int | None = None, retry_exceptions: Any = None) -> Callable:
    """Decorates an actor method with default call options, e.g. ``@comet.method(num_returns=2)``."""
    validated = opts.validate_actor_method_options(
        {k: v for k, v in (("num_returns", num_returns), ("concurrency_group", concurrency_group),
                           ("max_task_retries", max_task_retries),
                           ("retry_exceptions", retry_exceptions)) if v is not None})

    def decorate(fn: Callable) -> Callable:
        fn.__comet_method_options__ = validated  # type: ignore[attr-defined]
        return fn

    return decorate


SPEC_KEY = "_spec"  # a method's ParamSpec, among its default call options
# Whether a method is a generator (sync or async): it streams by default.
GENERATOR_KEY = "_generator"


def _method_table(cls: type) -> dict[str, dict[str, Any]]:
    """Per method: its default call options, and its parameters under SPEC_KEY."""
    table = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("__") and name not in ("__call__",):
            continue
        if callable(member) or inspect.iscoroutinefunction(member):
            options = dict(getattr(member, "__comet_method_options__", {}))
            # Plain methods take self; static and class methods do not.
            bound = inspect.isfunction(member) and not isinstance(
                inspect.getattr_static(cls, name, None), staticmethod)
            options[SPEC_KEY] = param_spec(member, drop_first=bound)
            options[GENERATOR_KEY] = (inspect.isgeneratorfunction(member)
                                      or inspect.isasyncgenfunction(member))
            table[name] = options
    return table


def _backpressure(options: dict[str, Any]) -> int:
    value = options.get("_generator_backpressure_num_objects")
    opts.check_dynamic_backpressure(options.get("num_returns", 1), value)
    return -1 if value is None else int(value)


def _is_asyncio(cls: type) -> bool:
    return any(inspect.iscoroutinefunction(m) or inspect.isasyncgenfunction(m)
               for _, m in inspect.getmembers(cls))


class ActorClassInheritanceException(TypeError):
    """A class statement names an actor class (a ``@remote`` class) as its
    base; inherit from the plain class and decorate the subclass instead.
    A TypeError, as in Ray (``ray.actor.ActorClassInheritanceException``)."""


class ActorClass:
    """A class made remote: ``Cls.remote(*args)`` starts an actor and returns its handle."""

    def __init__(self, cls: type, options: dict[str, Any]) -> None:
        self._cls = cls
        self._options = opts.validate_actor_options(options)
        self._name = f"{cls.__module__}.{cls.__qualname__}"
        self._pickled: bytes | None = None
        self._class_id: bytes | None = None
        self._methods = _method_table(cls)
        self._asyncio = _is_asyncio(cls)
        self._init_args = ArgChecker(f"{cls.__qualname__}.__init__", param_spec(cls))
        self.__doc__ = cls.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Actors cannot be instantiated directly. Instead of '{self._name}()', "
                        f"use '{self._name}.remote()'.")

    def __getattr__(self, name: str) -> Any:
        # Class attributes, static and class methods are reachable through
        # the actor class, as in Ray; instance methods only through a handle.
        cls = self.__dict__.get("_cls")
        if cls is None or name.startswith("__"):
            raise AttributeError(name)
        try:
            static = inspect.getattr_static(cls, name)
        except AttributeError:
            raise AttributeError(f"actor class {cls.__qualname__} has no attribute "
                                 f"'{name}'") from None
        if inspect.isfunction(static):
            raise AttributeError(f"'{name}' is a method of actor class {cls.__qualname__}: "
                                 f"create the actor with {cls.__qualname__}.remote() and "
                                 f"call handle.{name}.remote()")
        return getattr(cls, name)

    def __mro_entries__(self, bases: tuple) -> tuple:
        # `class Sub(RemoteCls)`: as in Ray, actor classes cannot be bases.
        raise ActorClassInheritanceException(
            f"Attempted to define a subclass of actor class '{self._name}'. Inheriting from "
            f"actor classes is not supported; inherit from the plain class and decorate "
            f"the subclass with @comet.remote instead.")

    def options(self, **overrides: Any) -> ActorClass:
        """A copy of this actor class with other options (name, resources, ...)."""
        validated = opts.validate_actor_options(overrides)
        copy = object.__new__(ActorClass)
        copy.__dict__.update(self.__dict__)
        copy._options = opts.merge_options(self._options, validated)
        return copy

    def _export(self, cw: Any) -> bytes:
        ctx = worker_context.get()
        if self._class_id is None:
            self._pickled = serialization.dumps_function(self._cls)
            serialization.check_function_size("actor class", self._name, self._pickled)
            self._class_id = serialization.function_id(self._pickled)
        if self._class_id not in ctx.exported:
            cw.kv_put("fun", self._class_id, self._pickled, False)
            ctx.exported.add(self._class_id)
        return self._class_id

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle:
        """Creates the actor; returns a handle to call its methods."""
        self._init_args.check(args, kwargs)
        cw = worker_context.core_worker(auto_init=True)
        merged = opts.merge_options(opts.DEFAULT_ACTOR_OPTIONS, self._options)
        name = merged.get("name") or ""
        namespace = merged.get("namespace") or worker_context.current_namespace()
        if merged.get("get_if_exists") and name:
            existing = cw.get_named_actor(name, namespace)
            if existing is not None:
                return ActorHandle(existing["actor_id"], self._methods, self._name,
                                   existing["max_task_retries"], existing["task_events"])
        class_id = self._export(cw)
        max_concurrency = merged.get("max_concurrency") or (1000 if self._asyncio else 1)
        max_task_retries = int(merged.get("max_task_retries") or 0)
        creation = {
            "max_restarts": int(merged.get("max_restarts") or 0),
            "max_task_retries": max_task_retries,
            "max_concurrency": int(max_concurrency),
            "is_asyncio": self._asyncio,
            "name": name,
            "namespace": namespace,
            "is_detached": (merged.get("lifetime")
                            or worker_context.get().default_actor_lifetime) == "detached",
            "max_pending_calls": int(merged.get("max_pending_calls") or -1),
            "concurrency_groups": dict(merged.get("concurrency_groups") or {}),
            "task_events": merged.get("enable_task_events", True),
        }
        resources, placement = placement_resources(
            opts.resources_from_options(merged, actor=True), merged)
        actor_id = cw.create_actor(class_id, self._name, build_args(args, kwargs), resources,
                                   creation, placement or None,
                                   runtime_env.for_submission(cw, merged.get("runtime_env")))
        return ActorHandle(actor_id, self._methods, self._name, max_task_retries,
                           creation["task_events"])


# Methods every actor has, as in Ray: `__ray_ready__()` answers True once the
# actor is up; `__ray_call__(fn, *args)` runs fn(instance, *args) in it.
BUILTIN_METHODS = ("__ray_ready__", "__ray_call__")


class ActorMethod:
    """``handle.method``: call it with ``.remote(*args)``, or set options first."""

    def __init__(self, handle: ActorHandle, name: str, options: dict[str, Any]) -> None:
        self._handle = handle
        self._name = name
        self._options = options

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self._handle._call(self._name, args, kwargs, self._options)

    def options(self, **overrides: Any) -> ActorMethod:
        validated = opts.validate_actor_method_options(overrides)
        return ActorMethod(self._handle, self._name, {**self._options, **validated})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Actor methods cannot be called directly. Instead of "
                        f"'{self._name}()', use '{self._name}.remote()'.")


class ActorHandle:
    """A handle to an actor: ``handle.method.remote(*args)`` calls a method.

    Handles can be passed to tasks and other actors; calls from one caller run
    in the order they were made.
    """

    def __init__(self, actor_id: bytes, methods: dict[str, dict[str, Any]], class_name: str,
                 max_task_retries: int = 0, task_events: bool = True) -> None:
        self._actor_id = actor_id
        self._methods = methods
        self._class_name = class_name
        self._max_task_retries = max_task_retries
        self._task_events = task_events  # the actor's enable_task_events
        self._arg_checkers: dict[str, ArgChecker] = {}
        cw = worker_context.core_worker()
        cw.add_actor_handle(actor_id)
        self._core_worker = cw

    def __del__(self) -> None:
        # The last handle of an actor this process created ends it (Ray's
        # scope-based actor lifetime), unless a copy was serialized.
        cw = self.__dict__.get("_core_worker")
        if cw is not None:
            try:
                cw.remove_actor_handle(self._actor_id)
            except Exception:  # noqa: BLE001 - the worker may be shut down
                pass

    def __getattr__(self, name: str) -> ActorMethod:
        methods = self.__dict__.get("_methods", {})
        if name in methods:
            return ActorMethod(self, name, methods[name])
        if name in ("__ray_terminate__", "__comet_terminate__"):
            return ActorMethod(self, "__comet_terminate__", {})
        if name in BUILTIN_METHODS:
            return ActorMethod(self, name, {})
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"'{self._class_name}' actor has no method '{name}'")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__.get("_methods", {})))

    def _call(self, name: str, args: tuple, kwargs: dict, options: dict[str, Any]) -> Any:
        checker = self._arg_checkers.get(name)
        if checker is None:
            checker = ArgChecker(f"{self._class_name.rsplit('.', 1)[-1]}.{name}",
                                 options.get(SPEC_KEY))
            self._arg_checkers[name] = checker
        checker.check(args, kwargs)
        cw = worker_context.core_worker()
        num_returns = options.get("num_returns", 1)
        # As in Ray: a generator method streams unless num_returns says otherwise.
        streaming = num_returns in ("streaming", "dynamic") or (
            options.get(GENERATOR_KEY, False) and "num_returns" not in options)
        retries = options.get("max_task_retries")
        retries = self._max_task_retries if retries is None else retries
        retry = options.get("retry_exceptions", False)
        allow = (serialization.dumps_function(tuple(retry))
                 if isinstance(retry, (list, tuple)) else b"")
        dynamic = num_returns == "dynamic"
        task_id, refs = cw.submit_actor_task(
            self._actor_id, name, build_args(args, kwargs), 0 if streaming else int(num_returns),
            int(retries), bool(retry), allow, options.get("concurrency_group") or "", streaming,
            _backpressure(options), dynamic, options.get("name") or "",
            options.get("enable_task_events", self._task_events))
        if dynamic:
            return refs[0]
        if streaming:
            return ObjectRefGenerator(task_id)
        if num_returns == 1:
            return refs[0]
        if num_returns == 0:
            return None
        return refs

    def __reduce__(self) -> tuple:
        self._core_worker.actor_handle_escaped(self._actor_id)
        return (_rebuild_handle, (self._actor_id, self._methods, self._class_name,
                                  self._max_task_retries, self._task_events))

    def __repr__(self) -> str:
        return f"Actor({self._class_name}, {self._actor_id.hex()})"

    def __hash__(self) -> int:
        return hash(self._actor_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorHandle) and other._actor_id == self._actor_id

    @property
    def _actor_id_hex(self) -> str:
        return self._actor_id.hex()


def _rebuild_handle(actor_id: bytes, methods: dict, class_name: str,
                    max_task_retries: int, task_events: bool = True) -> ActorHandle:
    return ActorHandle(actor_id, methods, class_name, max_task_retries, task_events)


def get_actor(name: str, namespace: str | None = None) -> ActorHandle:
    """The handle of the named actor; ``ValueError`` if there is none."""
    if not isinstance(name, str) or not name:
        raise ValueError("get_actor() needs a non-empty actor name")
    cw = worker_context.core_worker(auto_init=True)
    ns = worker_context.current_namespace() if namespace is None else namespace
    info = cw.get_named_actor(name, ns)
    if info is None:
        raise ValueError(f"Failed to look up actor with name '{name}'"
                         f"{f' in namespace {ns!r}' if ns else ''}.")
    pickled = cw.kv_get("fun", info["function_id"])
    cls = serialization.loads_function(pickled) if pickled is not None else object
    return ActorHandle(info["actor_id"], _method_table(cls), info["class_name"],
                       info["max_task_retries"], info["task_events"])


def kill(actor: ActorHandle, *, no_restart: bool = True) -> None:
    """Kills an actor at once (calls in flight fail with ActorDiedError).

    With ``no_restart=False`` the actor is restarted if its max_restarts allows.
    """
    if not isinstance(actor, ActorHandle):
        raise ValueError(f"kill() expects an actor handle, got {type(actor).__name__}")
    worker_context.core_worker(auto_init=True).kill_actor(actor._actor_id, True, bool(no_restart))


def list_named_actors(all_namespaces: bool = False) -> list[Any]:
    """Names of the living named actors (dicts with namespace when all_namespaces)."""
    actors = worker_context.core_worker().list_named_actors(worker_context.current_namespace(),
                                                            all_namespaces)
    if all_namespaces:
        return [{"name": a["name"], "namespace": a["namespace"]} for a in actors]
    return [a["name"] for a in actors]


def handle_of_current_actor() -> ActorHandle:
    """A handle to the actor this code runs in (RuntimeError outside one)."""
    ctx = worker_context.get()
    if ctx.mode != "worker" or ctx.actor_id is None or ctx.actor_instance is None:
        raise RuntimeError("This method is only available in an actor.")
    cls = type(ctx.actor_instance)
    options = ctx.actor_options or {}
    return ActorHandle(ctx.actor_id, _method_table(cls), f"{cls.__module__}.{cls.__qualname__}",
                       options.get("max_task_retries", 0), options.get("task_events", True))


def exit_actor() -> None:
    """Ends the current actor gracefully, from inside one of its methods."""
    ctx = worker_context.get()
    actor_id = getattr(ctx, "actor_id", None)
    if ctx.mode != "worker" or actor_id is None:
        raise TypeError("exit_actor() can only be called inside an actor method")
    worker_context.core_worker().kill_actor(actor_id, False, True)
    raise SystemExit(0)

