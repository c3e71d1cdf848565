"""The local task runner: what Fargate does on AWS, done on the emulator.

It watches the emulator's ECS cluster, runs each new task's overridden command (in process, or
as a subprocess like a container would), then stops the task so the state machine's .sync
integration sees it end. Outcomes reach the state machine through the run ledger, as on AWS.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.core import taskenv
from ecompipe.core.observability import logger as stage_logger
from ecompipe.core.settings import Settings

log = logging.getLogger("ecompipe.local.runner")
TaskImpl = Callable[[str, dict[str, str]], int]


class LocalTaskRunner:
    def __init__(
        self,
        settings: Settings,
        cluster: str,
        mode: str = "inprocess",
        poll_seconds: float = 0.1,
        overrides: dict[str, TaskImpl] | None = None,
        workers: int = 1,
        runs: set[str] | None = None,
    ) -> None:
        """`runs`: run only the tasks of these runs (ECOMPIPE_RUN_ID), added to by `follow` as the
        command starts them; None: every task on the cluster. Two commands against one emulator
        then each run their own batches' tasks, as Fargate runs each task once."""
        if mode not in ("inprocess", "subprocess", "docker"):
            raise ValueError(f"mode must be inprocess, subprocess or docker, not {mode!r}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.settings = settings
        self.cluster = cluster
        self.mode = mode
        self.poll_seconds = poll_seconds
        self.overrides = overrides or {}  # command -> implementation (tests: a task that misbehaves)
        self.ecs = aws.client("ecs", settings)
        self.ran: list[tuple[str, int]] = []
        self._seen: set[str] = set()
        self.runs = runs
        self._run_of: dict[str, str] = {}  # task ARN -> its run id, described once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # tasks run side by side up to `workers` (Fargate runs as many as the Map starts)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecompipe-task")

    def __enter__(self) -> LocalTaskRunner:
        self._thread = threading.Thread(target=self._loop, name="ecompipe-task-runner", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                arns = self.ecs.list_tasks(cluster=self.cluster, desiredStatus="RUNNING")["taskArns"]
            except Exception:  # the emulator going away at shutdown
                log.debug("listing tasks failed", exc_info=True)
                continue
            for arn in arns:
                if arn not in self._seen and self._mine(arn):
                    self._seen.add(arn)
                    self._pool.submit(self._run_logged, arn)

    def follow(self, run_id: str) -> None:
        """Run the tasks of this run too (one this command started)."""
        if self.runs is not None:
            self.runs.add(run_id)

    def _mine(self, arn: str) -> bool:
        if self.runs is None:
            return True
        if arn not in self._run_of:
            try:
                task = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]
            except Exception:
                log.debug("describing task %s failed", arn, exc_info=True)
                return False
            override = (task.get("overrides", {}).get("containerOverrides") or [{}])[0]
            env = {e["name"]: e["value"] for e in override.get("environment", [])}
            self._run_of[arn] = env.get(taskenv.RUN_ID, "")
        return self._run_of[arn] in self.runs

    def _run_logged(self, arn: str) -> None:
        try:
            self._run(arn)
        except Exception:  # the emulator going away at shutdown; the task's own errors are its exit code
            log.debug("running task %s failed", arn, exc_info=True)

    def _run(self, arn: str) -> None:
        task = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]
        override = (task.get("overrides", {}).get("containerOverrides") or [{}])[0]
        command = list(override.get("command") or [])
        env = {e["name"]: e["value"] for e in override.get("environment", [])}
        name = command[1] if len(command) == 2 and command[0] == "task" else " ".join(command)
        implementation = self.overrides.get(name, self._execute)
        code = implementation(name, env)
        self.ran.append((name, code))
        if code is None:
            return  # the task never ends (it hangs): the state machine's timeout must catch it
        self.ecs.stop_task(cluster=self.cluster, task=arn, reason=f"ecompipe local task runner: exit code {code}")

    def _execute(self, command: str, env: dict[str, str]) -> int:
        if command not in taskenv.TASK_COMMANDS:
            log.error("unknown task command %r", command)
            return 2
        if self.mode == "docker":
            return self._run_container(command, env)
        if self.mode == "subprocess":
            # a task logs as this process does (`ecompipe -v` shows the stages' logs, errors always)
            level = logging.getLevelName(stage_logger.log_level)
            child_env = {
                **os.environ,
                **env,
                "ECOMPIPE_ENDPOINT_URL": self.settings.endpoint_url or "",
                "ECOMPIPE_LOG_LEVEL": level,
            }
            # the task's stdout carries its EMF metrics, for CloudWatch: never on the CLI's result
            # stream, and beside the logs only when they are shown
            shown = sys.stderr if stage_logger.log_level <= logging.INFO else subprocess.DEVNULL
            return subprocess.run(
                [sys.executable, "-m", "ecompipe", "task", command], env=child_env, stdout=shown
            ).returncode
        from ecompipe.batch import tasks
        from ecompipe.batch.resources import Resources

        settings = replace(self.settings, bucket=env.get(taskenv.BUCKET, self.settings.bucket))
        if command == "sales-split":
            from events import split

            try:
                split.run_task(settings, env)
            except Exception:
                log.exception("task %s failed", command)
                return 1
            return 0
        try:
            tasks.run(command, Resources.from_settings(settings), taskenv.TaskInput.from_env(env))
        except Exception:
            log.exception("task %s failed", command)
            return 1
        return 0

    def _run_container(self, command: str, env: dict[str, str]) -> int:
        """The real task image (ECOMPIPE_TASK_IMAGE, default ecompipe:local) through the Docker SDK,
        on the host network so the container reaches the emulator at the same address."""
        import docker

        client = docker.from_env()
        container = client.containers.run(
            os.environ.get("ECOMPIPE_TASK_IMAGE", "ecompipe:local"),
            ["task", command],
            environment={**env, "ECOMPIPE_ENDPOINT_URL": self.settings.endpoint_url or ""},
            network_mode="host",
            detach=True,
        )
        try:
            return int(container.wait()["StatusCode"])
        finally:
            container.remove(force=True)
