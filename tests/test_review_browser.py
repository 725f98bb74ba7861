"""The review app driven in headless Chromium (Debian's chromium and chromedriver, through
Selenium): open the queue, open the lowest-confidence form, edit a cell, approve; the store
and the audit log show it; a form whose text holds <script> stays inert; a scanned form
(a PDF with a text layer and a page image, both printed from a seed by evals/scanset.py)
reviewed with its page in view. Saves screenshots of the form page to artifacts/
(review_form.png, review_scan.png, review_scan_pdf.png) for the README."""

from __future__ import annotations

import shutil
import socket
import sys
import threading
import time

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ROOT, SEEDS, review_app
from jixiao.batch import run_batch
from jixiao.review.explain import page_boxes
from jixiao.review import Review

ARTIFACTS = ROOT / "artifacts"
sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402

pytestmark = pytest.mark.slow  # every test here takes seconds, or shares a fixture that does


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review")
    docs = tmp / "docs"
    docs.mkdir()
    for seed in SEEDS:
        shutil.copy(seed, docs / seed.name)
    hostile = SEEDS[0].read_text(encoding="utf-8").replace(
        "党群综合服务", "党群<script>window.pwned=1</script><img src=x onerror='window.pwned=2'>服务", 1)
    (docs / "005_hostile.txt").write_text(hostile, encoding="utf-8")
    run_batch([docs], tmp / "out")
    yield from _served(tmp / "out")


@pytest.fixture(scope="module")
def scan_site(tmp_path_factory):
    """Seed 003 printed (evals/scanset.py) as a PDF with a text layer, and its first page as
    a scanned image turned 1.5° (read by OCR: one small page, a few seconds)."""
    tmp = tmp_path_factory.mktemp("scans")
    docs = tmp / "docs"
    docs.mkdir()
    seed = next(s for s in SEEDS if s.name.startswith("003"))
    pages = scanset.seed_pages(seed)
    scanset.write_pdf(pages, docs / "003_printed.pdf")
    scanset.degrade(scanset.draw(pages[0]), "rotated").save(docs / "003_scanned_page1.png")
    run_batch([docs], tmp / "out")
    yield from _served(tmp / "out")


def _served(store):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(review_app(store, "李四"), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "browser tests need Debian's chromium and chromium-driver (.ci/run installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    b = webdriver.Chrome(service=Service(driver), options=options)
    yield b
    b.quit()


def test_review_a_form_in_the_browser(site, browser):
    url, store = site
    browser.get(url + "/")
    first = browser.find_element(By.CSS_SELECTOR, "#queue a.open")
    lowest = Review(store).queue()[0]
    assert first.text == lowest["project_name"]
    first.click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "record")))
    cell = browser.find_element(By.CSS_SELECTOR, "input[name='total_score']")
    old = cell.get_attribute("value")
    cell.clear()
    cell.send_keys("12.5")
    # findings recompute as the person edits
    WebDriverWait(browser, 10).until(lambda b: "SE-T2" in b.find_element(By.ID, "findings").text)
    assert "flag" in cell.get_attribute("class")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "review_form.png"))
    cell.clear()
    cell.send_keys(old)
    level = browser.find_element(By.CSS_SELECTOR, "input[name='indicators.0.name']")
    level.clear()
    level.send_keys("已复核的名称")
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.rstrip("/") != f"{url}/forms/{lowest['id']}")
    review = Review(store)
    form, _, version, status = review.form(lowest["id"])
    assert status == "approved" and version == 1 and form.indicators[0].name == "已复核的名称"
    log = review.audit(lowest["id"])
    assert any(a["field"] == "indicators[0].name" and a["after"] == '"已复核的名称"' and a["reviewer"] == "李四"
               for a in log)
    assert (ARTIFACTS / "review_form.png").stat().st_size > 10_000


def test_script_in_a_document_stays_inert(site, browser):
    url, store = site
    hostile = next(i for i in Review(store).queue(include_done=True) if i["document"] == "005_hostile.txt")
    browser.get(f"{url}/forms/{hostile['id']}")
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "source")))
    time.sleep(0.3)
    assert browser.execute_script("return window.pwned === undefined")
    assert "<script>window.pwned=1</script>" in browser.find_element(By.ID, "source").text


def test_keyboard_shortcuts(site, browser):
    url, store = site
    items = Review(store).queue()
    browser.get(f"{url}/forms/{items[0]['id']}")
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "record")))
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("f")  # jump to the next cell a finding names
    focused = browser.switch_to.active_element
    assert "flag" in (focused.get_attribute("class") or "")
    browser.execute_script("document.activeElement.blur()")
    body.send_keys("j")  # next form
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith(f"/forms/{items[1]['id']}"))


def _page_shown(browser) -> None:
    WebDriverWait(browser, 30).until(lambda b: b.execute_script(
        "const i = document.getElementById('page-img'); return i && i.complete && i.naturalWidth > 0"
        " && document.querySelectorAll('#sheet .box').length > 0"))


def _hot(browser) -> dict | None:
    """The highlighted box: its path, and whether it is inside the viewer's visible area."""
    return browser.execute_script(
        "const h = document.querySelector('#sheet .box.hot'); if (!h) return null;"
        "const r = h.getBoundingClientRect(), v = document.getElementById('viewer').getBoundingClientRect();"
        "return {path: h.dataset.path, page: Number(document.getElementById('page-select').value),"
        " visible: r.top >= v.top && r.bottom <= v.bottom && r.left >= v.left - 1 && r.right <= v.right + 1}")


def _open(browser, url, store, document: str) -> int:
    item = next(i for i in Review(store).queue() if i["document"] == document)
    browser.get(f"{url}/forms/{item['id']}")
    _page_shown(browser)
    return item["id"]


def test_review_a_printed_pdf_with_its_page_in_view(scan_site, browser):
    url, store = scan_site
    form_id = _open(browser, url, store, "003_printed.pdf")
    form, _, _, _ = Review(store).form(form_id)
    assert not browser.find_element(By.ID, "source").is_displayed()  # the page, not the text
    # A row on a later page: focusing its cell turns to that page and shows its box.
    row = max(int(p[11:p.index("]")]) for p, b in form.field_boxes.items() if p.startswith("indicators[")
              and b.page > form.field_boxes["project_name"].page)
    cell = browser.find_element(By.CSS_SELECTOR, f"input[name='indicators.{row}.name']")
    browser.execute_script("arguments[0].focus()", cell)
    # the focused cell's own box when its place is known, else its row's
    shown = next(p for p in (f"indicators[{row}].name", f"indicators[{row}]") if p in form.field_boxes)
    WebDriverWait(browser, 10).until(lambda b: (_hot(b) or {}).get("path") == shown)
    hot = _hot(browser)
    assert hot["page"] == form.field_boxes[shown].page and hot["visible"]
    # Clicking a box on the page focuses its cell.
    Select(browser.find_element(By.ID, "page-select")).select_by_value(str(form.field_boxes["project_name"].page))
    _page_shown(browser)
    box = WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#sheet .box[data-path='project_name']"))
    box.click()
    assert browser.switch_to.active_element.get_attribute("name") == "project_name"
    # Zoom: the page grows, its boxes with it.
    before = browser.execute_script("return document.querySelector('#sheet .box').getBoundingClientRect().width")
    browser.find_element(By.ID, "zoom-in").click()
    after = browser.execute_script("return document.querySelector('#sheet .box').getBoundingClientRect().width")
    assert after > before * 1.2
    # Rows in doubt stand out on the page: on a page holding some, exactly their boxes are marked.
    marked = [b for b in page_boxes(form) if b["low"]]
    assert marked and len(marked) < len(form.field_boxes)
    on = marked[-1]["page"]
    Select(browser.find_element(By.ID, "page-select")).select_by_value(str(on))
    expected = sorted(b["path"] for b in marked if b["page"] == on)
    WebDriverWait(browser, 10).until(lambda b: sorted(b.execute_script(
        "return [...document.querySelectorAll('#sheet .box.low')].map(x => x.dataset.path)")) == expected)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#sheet .box")) > len(expected)
    browser.find_element(By.ID, "zoom-fit").click()
    browser.execute_script("arguments[0].focus()", cell)
    WebDriverWait(browser, 10).until(lambda b: (_hot(b) or {}).get("path") == shown)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "review_scan_pdf.png"))


def test_review_a_scanned_page_straightened_with_its_boxes(scan_site, browser):
    url, store = scan_site
    form_id = _open(browser, url, store, "003_scanned_page1.png")
    form, _, _, _ = Review(store).form(form_id)
    assert all(b.unit == "px" for b in form.field_boxes.values())
    rows = [p for p in form.field_boxes if p.startswith("indicators[") and p.endswith("]")]
    doubtful = next((p for p in rows if form.extraction_confidence.get(p + ".name", 1) < form.route.threshold), rows[-1])
    cell = browser.find_element(By.CSS_SELECTOR, f"input[name='indicators.{doubtful[11:-1]}.name']")
    browser.execute_script("arguments[0].focus()", cell)
    shown = doubtful + ".name" if doubtful + ".name" in form.field_boxes else doubtful  # the cell's own box, if known
    WebDriverWait(browser, 10).until(lambda b: (_hot(b) or {}).get("path") == shown)
    assert _hot(browser)["visible"]
    # The page drawn is the straightened scan OCR read: as large as the image, each box on ink.
    size = browser.execute_script("const i = document.getElementById('page-img'); return [i.naturalWidth, i.naturalHeight]")
    assert size == [1716, 2383]
    assert "为什么要复核" in browser.find_element(By.ID, "why").text
    browser.execute_script("window.scrollTo(0, 0)")  # the reasons in view beside the page, for the README
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "review_scan.png"))
    assert (ARTIFACTS / "review_scan.png").stat().st_size > 10_000
