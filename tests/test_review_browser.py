"""The review app driven in headless Chromium (Debian's chromium and chromedriver, through
Selenium): open the queue, open the lowest-confidence form, edit a cell, approve; the store
and the audit log show it; a form whose text holds <script> stays inert. Saves a screenshot
of the form page to artifacts/review_form.png."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, SEEDS
from jixiao.batch import run_batch
from jixiao.review import Review
from jixiao.webapp import create_app

ARTIFACTS = ROOT / "artifacts"


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(tmp / "out", "李四"), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", tmp / "out"
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
