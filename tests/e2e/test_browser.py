"""The approver inbox and the ops board in a real browser (Debian's headless Chromium, driven by selenium)
against the embedded stack: people sign in through Airflow's own login page, see only their own agency's
items, approve with the keyboard, decline through the confirmation, on a 390 px wide phone with no sideways
scroll; ops see a late item late on the board. Screenshots are kept in $HUMAS_ARTIFACTS (or a temporary
folder the test prints)."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from humas import layout
from staff_cli import humas
from humas_dev import stack
from humas_dev.stack import api_token, passwords, wait_for_state

from test_item_flow import write_item

pytestmark = pytest.mark.e2e

PHONE = (390, 844)
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("HUMAS_ARTIFACTS") or tmp_path_factory.mktemp("browser-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {folder}")
    return folder


@pytest.fixture()
def browser() -> Iterator:
    """A fresh headless Chromium the size of a phone, with a profile of its own."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("chromium and chromedriver are missing: run `make install` (Debian: chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="humas-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={PHONE[0]},{PHONE[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_window_size(*PHONE)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, seconds: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def sign_in(driver, stack_cfg, url: str, user: str) -> None:
    """Open ``url``; Airflow sends the browser to its sign-in page; type the login and password there."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(url)
    username = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "input[name='username']"))[0]
    username.send_keys(user)
    password = driver.find_element(By.CSS_SELECTOR, "input[name='password']")
    password.send_keys(passwords(stack_cfg)[user])
    password.submit()
    _wait(driver, lambda d: d.current_url.startswith(url.split("?")[0]) and "<main>" in d.page_source)


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def _shot(driver, artifacts: Path, name: str) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(PHONE[0], min(max(height, PHONE[1]), 4000))
    driver.save_screenshot(str(artifacts / f"{name}.png"))
    driver.set_window_size(*PHONE)


@pytest.fixture(scope="module")
def items(tmp_path_factory, stack_cfg, store) -> dict[str, str]:
    """Two Singkawang items and one of Yogyakarta waiting for a decision, and one of the one-minute test SOP
    (late on the board by the time it is looked at)."""
    root = tmp_path_factory.mktemp("browser-items")
    os.environ.update(stack.client_env(stack_cfg, stack.load_secrets(stack_cfg)))  # as `source .stack/humas.env`
    wanted = {"br-late": ("uji_sla", "step_1_idea_consideration"), "br-approve": ("singkawang", "step_3_decision"),
              "br-decline": ("singkawang", "step_3_decision"), "br-ygy": ("yogyakarta", "step_2_idea_consideration")}
    for item_id, (sop, _) in wanted.items():
        assert humas(["submit", str(write_item(root, item_id, sop, ["facebook"]))]) == 0
    for item_id, (_, gate) in wanted.items():
        wait_for_state(store, item_id, {"awaiting_approval"}, 300, step=gate)
    return {item_id: sop for item_id, (sop, _) in wanted.items()}


def test_an_approver_sees_only_their_agency_and_approves_with_the_keyboard(cli_env, items, browser, stack_cfg,
                                                                            store, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    inbox = f"{stack_cfg.airflow_url}/humas/approvals"
    sign_in(browser, stack_cfg, inbox, "skw.hendra")

    def both_listed(driver) -> bool:  # the inbox's item index may be up to 15 s old: look again until it is not
        if "Uji br-approve" in driver.find_element(By.TAG_NAME, "main").text:
            return True
        time.sleep(3)
        driver.refresh()
        return False

    _wait(browser, both_listed, 180)
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "Uji br-approve" in text and "Uji br-decline" in text
    assert "Uji br-ygy" not in text and "Uji br-late" not in text  # other agencies' items are not shown
    assert "Keputusan Anda" in text and "Ayu Lestari" in text and "WIB" in text
    assert no_sideways_scroll(browser)
    _wait(browser, lambda d: d.execute_script(  # each card's thumbnail: a small one of the preview, from the app
        "const t = [...document.querySelectorAll('img.thumb')];"
        "return t.length > 0 && t.every(i => i.complete && i.naturalWidth === 144)"), 30)
    _shot(browser, artifacts, "1-inbox-390px")

    browser.find_element(By.LINK_TEXT, "Uji br-approve").click()
    _wait(browser, lambda d: "Keputusan Anda" in d.page_source)
    assert no_sideways_scroll(browser)
    _shot(browser, artifacts, "2-item-390px")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(20):  # the keyboard alone reaches the approve button
        active = browser.switch_to.active_element
        if active.get_attribute("value") == "approve":
            break
        active.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("value") == "approve"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    _wait(browser, lambda d: "Keputusan tercatat" in d.page_source)
    wait_for_state(store, "br-approve", {"published"}, 240)


def test_declining_asks_for_confirmation_and_the_run_carries_the_note(cli_env, items, browser, stack_cfg, store,
                                                                      artifacts):
    from selenium.webdriver.common.by import By

    sign_in(browser, stack_cfg, f"{stack_cfg.airflow_url}/humas/approvals/br-decline", "skw.hendra")
    browser.find_element(By.ID, "comment").send_keys("Tema tidak sesuai agenda")
    browser.find_element(By.CSS_SELECTOR, "button[value='decline']").click()
    _wait(browser, lambda d: "Ya, tolak item ini" in d.page_source)
    assert (read := store.get_json(layout.status_key("br-decline")))["state"] == "awaiting_approval", read
    assert no_sideways_scroll(browser)
    _shot(browser, artifacts, "3-decline-confirm-390px")
    browser.find_element(By.CSS_SELECTOR, "button[value='decline']").click()
    _wait(browser, lambda d: "Keputusan tercatat" in d.page_source)
    wait_for_state(store, "br-decline", {"declined"}, 120)
    run = f"{stack_cfg.airflow_url}/api/v2/dags/humas_sop_singkawang/dagRuns/{layout.run_id_for('br-decline')}"
    headers = {"Authorization": f"Bearer {api_token(stack_cfg)}"}
    note = ""
    for _ in range(60):
        note = requests.get(run, headers=headers, timeout=30).json().get("note") or ""
        if note:
            break
        time.sleep(1)
    assert note.startswith("Ditolak oleh Hendra Wijaya") and "Tema tidak sesuai agenda" in note
    assert store.exists(layout.report_key("br-decline", "html"))


def test_ops_see_every_agency_and_a_late_item_late_on_the_board(cli_env, items, browser, stack_cfg, store,
                                                                artifacts):
    from selenium.webdriver.common.by import By

    wait_for_state(store, "br-late", {"awaiting_approval"}, 10)
    board = f"{stack_cfg.airflow_url}/humas-board/"
    sign_in(browser, stack_cfg, board, "admin")
    for _ in range(90):  # the one-minute standard time of the test SOP's first step passes
        browser.get(board + "?late=1")
        if "Uji br-late" in browser.page_source:
            break
        time.sleep(2)
    late = browser.find_element(By.TAG_NAME, "main").text
    assert "Uji br-late" in late and "Terlambat" in late and "Kabid Uji" in late
    assert no_sideways_scroll(browser)
    _shot(browser, artifacts, "4-board-late-390px")
    for _ in range(30):  # the board's rows are refreshed in the background every few seconds
        browser.get(board)
        everything = browser.find_element(By.TAG_NAME, "main").text
        if "Tidak disetujui" in everything and "Sudah diunggah" in everything:
            break
        time.sleep(2)
    assert "Uji br-ygy" in everything and "Uji br-approve" in everything and "Sudah diunggah" in everything
    assert "Tidak disetujui" in everything  # the declined item, shown as such
    _shot(browser, artifacts, "5-board-390px")
    browser.get(f"{board}items/br-decline/report")  # the item report, styled by the one stylesheet (CSP allows it)
    _wait(browser, lambda d: "Waktu per langkah" in d.page_source)
    assert browser.execute_script("return getComputedStyle(document.querySelector('table')).borderCollapse") \
        == "collapse"
    assert "Hendra Wijaya" in browser.find_element(By.TAG_NAME, "main").text and no_sideways_scroll(browser)
    _shot(browser, artifacts, "5b-item-report-390px")
    browser.set_window_size(1280, 900)
    browser.get(board)
    browser.save_screenshot(str(artifacts / "6-board-desktop.png"))
