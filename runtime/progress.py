"""What a build shows while it runs: rich progress bars, JSON lines, or nothing."""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} docs/s" if speed else "", style="progress.data.speed")


class Reporter:
    """Stage events, shown as rich progress (`human`), JSON lines (`json`) or not at all (`quiet`)."""

    def __init__(self, mode: str = "human", console: Console | None = None):
        self.mode = mode
        self.console = console or Console(stderr=True)
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}
        self.started: dict[str, float] = {}
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Reporter:
        if self.mode == "human":
            self.progress = Progress(SpinnerColumn(), TextColumn("{task.description:<18}"), BarColumn(),
                                     TextColumn("{task.completed:>10,.0f} docs"), _Rate(), TimeElapsedColumn(),
                                     TimeRemainingColumn(),
                                     console=self.console, transient=False)
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, **fields}
        self.events.append(record)
        if self.mode == "json":
            sys.stdout.write(orjson.dumps(record, default=str).decode() + "\n")
            sys.stdout.flush()

    def start(self, stage: str, total: int | None = None, event: str = "stage") -> None:
        """A stage, or a task inside one (`event="task"`: a scorer filling its cache), begins."""
        self.started[stage] = time.perf_counter()
        self.emit(f"{event}_start", stage=stage, **({"total": total} if total is not None else {}))
        if self.progress is not None:
            self.tasks[stage] = self.progress.add_task(stage, total=total)

    def advance(self, stage: str, rows: int) -> None:
        if self.progress is not None and stage in self.tasks:
            self.progress.advance(self.tasks[stage], rows)

    def finish(self, stage: str, cached: bool = False, event: str = "stage", **stats: Any) -> None:
        seconds = round(time.perf_counter() - self.started.get(stage, time.perf_counter()), 3)
        self.emit(f"{event}_end", stage=stage, cached=cached, seconds=seconds, **stats)
        if self.progress is not None:
            if stage not in self.tasks:
                self.tasks[stage] = self.progress.add_task(stage, total=None)
            task = self.tasks[stage]
            done = stats.get("rows", 0) if cached else self.progress.tasks[task].completed
            self.progress.update(task, total=max(done, 1), completed=done,
                                 description=f"{stage} (cached)" if cached else stage)
