"""One port discovery, start to end: manifest, pipe, RVM, wait for the runtime's answer, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import structlog

from adapter.openfin.discovery.errors import DiscoveryTimeoutError, RvmLaunchError
from adapter.openfin.discovery.pipe import DiscoveryPipe
from adapter.openfin.discovery.protocol import DiscoveryRequest, RuntimeInformation, rvm_arguments
from adapter.openfin.discovery.rvm import launch_rvm

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 20.0
# How often we look whether the RVM already failed while waiting for the runtime.
_RVM_POLL_INTERVAL = 0.2
_RVM_STOP_TIMEOUT = 5.0


async def discover_runtime(
    request: DiscoveryRequest,
    rvm: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (the discovery's own deadline, reported by name)
) -> RuntimeInformation:
    """Ask ``rvm`` for the runtime ``request`` names and return what that runtime reports (its port).

    A runtime of that version and realm that is already running answers itself (the RVM delegates to it);
    otherwise the RVM starts one. Raises a ``PortDiscoveryError``: ``RvmLaunchError`` if the RVM cannot start
    or exits with a failure, ``DiscoveryTimeoutError`` after ``timeout`` seconds, ``RuntimeMismatchError`` if
    another runtime answers, ``DiscoveryFrameError`` for garbled frames. The pipe, the temporary manifest and,
    unless a runtime answered, the RVM process are gone when it returns.
    """
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="servicenow-adapter-discovery-"))
    try:
        manifest = workdir / "manifest.json"
        await asyncio.to_thread(manifest.write_text, json.dumps(request.manifest()), "utf-8")
        async with DiscoveryPipe(request) as pipe:
            assert pipe.answer is not None
            process = launch_rvm(rvm, rvm_arguments(str(manifest), pipe.channel))
            log.debug("discovery.rvm_started", rvm=str(rvm), pid=process.pid, channel=pipe.channel)
            try:
                return await _wait(pipe.answer, process, timeout)
            except BaseException:
                await _stop(process)
                raise
            finally:
                # Reaps the RVM if it already exited; one still running belongs to the desktop now.
                process.poll()
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)


async def _wait(
    answer: asyncio.Future[RuntimeInformation],
    process: subprocess.Popen[bytes],
    timeout: float,  # noqa: ASYNC109 (the discovery's own deadline, reported by name)
) -> RuntimeInformation:
    try:
        async with asyncio.timeout(timeout):
            while True:
                done, _ = await asyncio.wait({answer}, timeout=_RVM_POLL_INTERVAL)
                if done:
                    return answer.result()
                # Exit code 0 is normal: the RVM handed the launch to a runtime and left.
                code = process.poll()
                if code is not None and code != 0:
                    raise RvmLaunchError(f"the RVM exited with code {code} before any runtime answered")
    except TimeoutError:
        raise DiscoveryTimeoutError(timeout) from None


async def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        await asyncio.to_thread(process.wait, _RVM_STOP_TIMEOUT)
        return
    process.kill()
    await asyncio.to_thread(process.wait, _RVM_STOP_TIMEOUT)
