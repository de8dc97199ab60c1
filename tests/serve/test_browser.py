"""Headless Chromium on the real page: paste two sequences, run ``predict te``, read the table,
download the CSV and compare it with ``rnalm predict`` on the same input."""

from __future__ import annotations

import csv
import shutil
import time

import pytest

from rnalm import shipped

from .helpers import Server, cli_predict_te, fasta

pytestmark = pytest.mark.slow
TWO = [("utr1", "GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGCAACCUCAAACAGACACCAUG"), ("utr2", "ACGUACGUAGCUAGCUAGCUAGCAUGCCA")]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)
def test_paste_predict_read_download(tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    monkeypatch.delenv(shipped.ENV_DIR, raising=False)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    opts.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    srv = Server(tmp_path / "data", "--workers", "1").start()
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(srv.url + "/")
        assert "1000 sequences per job" in driver.find_element(By.ID, "limits").text
        driver.find_element(By.ID, "sequences").send_keys(fasta(TWO))
        driver.find_element(By.ID, "submit").click()
        WebDriverWait(driver, 120).until(ec.presence_of_element_located((By.ID, "result")))
        assert driver.find_element(By.ID, "status").text == "done"
        table = driver.find_element(By.ID, "result")
        head = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        shown = [
            [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
        driver.find_element(By.ID, "download").click()
        deadline = time.time() + 30
        while not [p for p in downloads.glob("*.csv")] and time.time() < deadline:
            time.sleep(0.2)
        (got,) = downloads.glob("*.csv")
    finally:
        driver.quit()
        srv.stop()
    src = tmp_path / "two.fasta"
    src.write_text(fasta(TWO))
    cli = cli_predict_te(src)
    assert got.read_bytes() == cli
    rows = list(csv.reader(cli.decode().splitlines()))
    assert head == rows[0] and shown == rows[1:]
