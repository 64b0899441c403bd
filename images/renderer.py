"""The pool of renderers: one Chromium with IMAGE_RENDER_CONCURRENCY warm pages, each holding
plotly.js (the copy bundled in the plotly package, no CDN), driven by Playwright's async API on a
thread and an event loop of the pool's own: nothing of a render runs on the server's event loop,
and a request's thread only waits for its answer.

A request takes a place first (`RenderPool.render`): one of IMAGE_RENDER_CONCURRENCY pages, or one
of IMAGE_RENDER_QUEUE places in the line for them. With none left it is refused at once (503 with
Retry-After), so waiting requests, and the threads and memory they hold, stay bounded. Chromium
starts with the first image (within IMAGE_RENDERER_START_TIMEOUT) and stays. A render past
IMAGE_RENDER_TIMEOUT, its wait included, is given up (503) and its page replaced by a fresh one;
a Chromium that went away is started again by the next render.

Pages are offline and every request they would make is aborted: a figure naming an image by URL
(`layout.images`) cannot make the server fetch anything.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly
from django.conf import settings

from base import metrics
from base.timeouts import within
from images.options import ImageOptions, ImageRefused

log = logging.getLogger("plotserver.images")

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# No GPU, nothing fetched in the background; /dev/shm is small in containers.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
]
PAGE = "<!doctype html><html><head><meta charset='utf-8'></head><body style='margin:0'></body></html>"
# Seconds a refused request is asked to wait: a render takes a fraction of a second to a few.
RETRY_AFTER = 2
# plotly.js draws the figure (parsed from JSON here: cheaper than Playwright's own serialization)
# in a hidden div of its own and removes it. JPEG has no transparency: the paper colour goes under.
DRAW = """async ([figure, options]) => Plotly.toImage(JSON.parse(figure), {
  format: options.format, width: options.width, height: options.height, scale: options.scale,
  imageDataOnly: true, setBackground: options.format === "jpeg" ? "opaque" : undefined,
})"""
# A PDF is the SVG printed on a page of its size, as an <img> (no script, nothing fetched).
SHOW_FOR_PRINT = """async ([svg, width, height]) => {
  const img = document.createElement("img");
  img.style.cssText = `display:block;width:${width}px;height:${height}px`;
  img.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(svg)));
  document.body.replaceChildren(img);
  await img.decode();
}"""
CLEAR = "() => document.body.replaceChildren()"


class RendererUnavailable(ImageRefused):
    def __init__(self, message: str) -> None:
        super().__init__(503, message, RETRY_AFTER)


class FigureNotDrawn(ImageRefused):
    def __init__(self, message: str) -> None:
        super().__init__(400, f"plotly.js could not draw this figure: {message}")


class RenderPool:
    """Chromium's warm pages, and the places of the requests that use them (one pool a process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        # Only touched on the pool's loop:
        self._playwright: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._starting: asyncio.Task[None] | None = None
        self._pages: asyncio.Queue[Any] | None = None
        self._replacing: set[asyncio.Future[None]] = set()

    # -- on a request's thread ------------------------------------------------------------------

    def render(self, figure_json: str, options: ImageOptions) -> bytes:
        """The image of a figure (as JSON), or ImageRefused: 503 when the pool is full, Chromium
        cannot start or the render runs too long; 400 when plotly.js refuses the figure."""
        with self._place():
            loop = self._running_loop()
            started = asyncio.run_coroutine_threadsafe(self._ready(), loop)
            try:
                started.result(timeout=settings.IMAGE_RENDERER_START_TIMEOUT)
            except concurrent.futures.TimeoutError:
                raise RendererUnavailable(
                    f"Chromium did not start within {settings.IMAGE_RENDERER_START_TIMEOUT:g} s"
                    " (IMAGE_RENDERER_START_TIMEOUT): try again in a moment."
                ) from None
            with metrics.IMAGE_RENDER_SECONDS.time():
                drawn = asyncio.run_coroutine_threadsafe(self._render(figure_json, options), loop)
                try:
                    result = drawn.result(timeout=settings.IMAGE_RENDER_TIMEOUT)
                except concurrent.futures.TimeoutError:
                    drawn.cancel()
                    metrics.LIMIT_HITS.labels("image_render_timeout").inc()
                    raise RendererUnavailable(
                        f"The image was not drawn within {settings.IMAGE_RENDER_TIMEOUT:g} s (IMAGE_RENDER_TIMEOUT):"
                        " the server is busy, or the figure is heavy. Try again in a moment."
                    ) from None
        return result if isinstance(result, bytes) else base64.b64decode(result)

    @contextlib.contextmanager
    def _place(self) -> Iterator[None]:
        most = settings.IMAGE_RENDER_CONCURRENCY + settings.IMAGE_RENDER_QUEUE
        with self._lock:
            if self._taken >= most:
                metrics.LIMIT_HITS.labels("image_renders").inc()
                raise ImageRefused(
                    503,
                    f"The server is drawing {settings.IMAGE_RENDER_CONCURRENCY} images with"
                    f" {settings.IMAGE_RENDER_QUEUE} more waiting, its most (IMAGE_RENDER_CONCURRENCY,"
                    " IMAGE_RENDER_QUEUE): try again in a moment.",
                    RETRY_AFTER,
                )
            self._taken += 1
        metrics.IMAGE_RENDERS.inc()
        try:
            yield
        finally:
            metrics.IMAGE_RENDERS.dec()
            with self._lock:
                self._taken -= 1

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="plotserver-images", daemon=True).start()
                self._loop = loop
            return self._loop

    def close(self, timeout: float = 10.0) -> None:
        """Close Chromium and stop the pool's loop (the server is stopping)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)

    # -- on the pool's loop -----------------------------------------------------------------------

    async def _ready(self) -> None:
        """Chromium started with its warm pages; started now if it is not (or went away)."""
        if self._browser is not None and self._browser.is_connected():
            return
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._start())
        # A request that gives up waiting does not stop the start the others wait for.
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        from playwright.async_api import async_playwright

        executable = shutil.which(settings.IMAGE_CHROMIUM)
        if executable is None:
            raise RendererUnavailable(
                f"Images are drawn by Chromium, and {settings.IMAGE_CHROMIUM!r} (IMAGE_CHROMIUM) is not installed"
                " on this server (apt-get install chromium)."
            )
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        try:
            browser = await self._playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:
            log.exception("Chromium did not start")
            raise RendererUnavailable(f"Chromium ({executable}) did not start: {exc}") from None
        try:
            context = await browser.new_context(offline=True, service_workers="block")
            await context.route("**/*", lambda route: route.abort())
        except Exception as exc:
            log.exception("Chromium started without a context for images")
            raise RendererUnavailable(f"Chromium ({executable}) did not open a page context: {exc}") from None
        self._browser, self._context = browser, context
        if self._pages is None:  # the first start: every page warm before the first render
            self._pages = asyncio.Queue()
            made = await asyncio.gather(
                *(self._new_page() for _ in range(settings.IMAGE_RENDER_CONCURRENCY)), return_exceptions=True
            )
            for page in made:
                if isinstance(page, BaseException):
                    log.warning("an image page did not start; the render that takes its place makes one: %s", page)
                    page = None
                # Every place is in the pool, with a page or None (made on use): none lost.
                self._pages.put_nowait(page)
        log.info("Chromium started for images: %s, %d pages", executable, settings.IMAGE_RENDER_CONCURRENCY)

    async def _new_page(self) -> Any:
        """A page with plotly.js loaded, within IMAGE_RENDERER_START_TIMEOUT (a hung Chromium
        costs a place its page, never the place)."""
        async with asyncio.timeout(settings.IMAGE_RENDERER_START_TIMEOUT):
            page = await self._context.new_page()
            await page.set_content(PAGE)
            await page.add_script_tag(path=str(PLOTLY_JS))
        return page

    async def _render(self, figure_json: str, options: ImageOptions) -> bytes | str:
        from playwright.async_api import Error as PlaywrightError

        assert self._pages is not None
        page = await self._pages.get()
        give_back = True
        try:
            if page is None or page.is_closed() or page.context is not self._context:
                await self._ready()
                page = await self._new_page()
            return await self._draw(page, figure_json, options)
        except asyncio.CancelledError:
            # Given up (IMAGE_RENDER_TIMEOUT): the page may still be drawing; a fresh one takes its place.
            give_back = False
            replacing = asyncio.ensure_future(self._replace(page))
            self._replacing.add(replacing)
            replacing.add_done_callback(self._replacing.discard)
            raise
        except PlaywrightError as exc:
            if page is None or page.is_closed() or not self._browser.is_connected():
                page = None  # made afresh by the next render
                raise RendererUnavailable(f"Chromium went away while drawing ({exc.message}): try again.") from None
            raise FigureNotDrawn(exc.message.removeprefix("Error: ").split("\n")[0]) from None
        finally:
            if give_back:
                self._pages.put_nowait(page)

    async def _draw(self, page: Any, figure_json: str, options: ImageOptions) -> bytes | str:
        asked = {"format": "svg" if options.format == "pdf" else options.format, "width": options.width}
        asked |= {"height": options.height, "scale": options.scale}
        drawn = await page.evaluate(DRAW, [figure_json, asked])
        if options.format == "svg":
            return drawn.encode()
        if options.format != "pdf":
            return drawn  # base64, decoded on the request's thread
        width, height = round(options.width * options.scale), round(options.height * options.scale)
        await page.evaluate(SHOW_FOR_PRINT, [drawn, width, height])
        try:
            return await page.pdf(
                width=f"{width}px",
                height=f"{height}px",
                print_background=True,
                margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
                page_ranges="1",
            )
        finally:
            await page.evaluate(CLEAR)

    async def _replace(self, page: Any) -> None:
        """Close a page that may still be busy; its place gets a fresh one (or none, made on use)."""
        assert self._pages is not None
        fresh = None
        try:
            if page is not None:
                await within(page.close(), 10)
            fresh = await self._new_page()
        except Exception:
            log.warning("an image page could not be replaced; the next render makes one", exc_info=True)
        self._pages.put_nowait(fresh)

    async def _close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.close()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()


POOL = RenderPool()
