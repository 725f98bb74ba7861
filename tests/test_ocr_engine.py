"""How the OCR engine is built (issue 15 item 2): the runtime under RapidOCR's models (OpenVINO
where its wheel is installed on x86, else onnxruntime), each worker's share of the CPUs
reaching that runtime, and JIXIAO_OCR_DEVICE=cuda falling back to the CPU with one message
where there is no GPU (there is none here). The engines are real: their sessions are asked
what they were built with."""

from __future__ import annotations

import platform
from importlib.util import find_spec

import pytest

from jixiao.errors import InputError
from jixiao.ingest import ocr

pytestmark = pytest.mark.slow  # every test here takes seconds, or shares a fixture that does

pytest.importorskip("rapidocr_onnxruntime")
openvino = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64") or not find_spec("rapidocr_openvino"),
    reason="the jixiao[openvino] extra on an x86 machine")


@pytest.fixture(autouse=True)
def fresh_engines(monkeypatch):
    for name in ("JIXIAO_OCR_RUNTIME", "JIXIAO_OCR_DEVICE", "JIXIAO_OCR_THREADS"):
        monkeypatch.delenv(name, raising=False)
    ocr._load_engine.cache_clear()
    ocr._said.clear()
    yield
    ocr._load_engine.cache_clear()


@openvino
def test_openvino_runs_the_models_where_installed_and_onnxruntime_can_be_asked_for(monkeypatch):
    assert ocr.runtime_name() == "openvino"
    assert type(ocr.engine()).__module__.startswith("rapidocr_openvino")
    monkeypatch.setenv("JIXIAO_OCR_RUNTIME", "onnxruntime")
    assert type(ocr.engine()).__module__.startswith("rapidocr_onnxruntime")


def test_a_workers_share_of_the_cpus_reaches_onnxruntime(monkeypatch):
    monkeypatch.setenv("JIXIAO_OCR_RUNTIME", "onnxruntime")
    monkeypatch.setenv("JIXIAO_OCR_THREADS", "1")
    engine = ocr.engine()
    for session in (engine.text_det.infer.session, engine.text_rec.session.session):
        assert session.get_session_options().intra_op_num_threads == 1


@openvino
def test_openvino_runs_the_models_in_float32_on_a_workers_share_of_the_cpus(monkeypatch):
    # bfloat16, OpenVINO's default on a CPU that has it, read 5 fields of the clean scans wrong
    monkeypatch.setenv("JIXIAO_OCR_THREADS", "1")
    engine = ocr.engine()
    for session in (engine.text_det.infer.session, engine.text_cls.infer.session, engine.text_rec.session.session):
        compiled = session.get_compiled_model()
        assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 1
        assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"


def test_cuda_without_a_gpu_falls_back_to_the_cpu_and_says_so_once(monkeypatch, capsys):
    monkeypatch.setenv("JIXIAO_OCR_DEVICE", "cuda")
    monkeypatch.setenv("JIXIAO_OCR_RUNTIME", "onnxruntime")
    if ocr._cuda_ready():
        pytest.skip("this machine has a CUDA device")
    engine = ocr.engine()
    assert engine is not None
    assert engine.text_rec.session.session.get_providers() == ["CPUExecutionProvider"]
    monkeypatch.setenv("JIXIAO_OCR_THREADS", "1")  # another engine built in the same process
    assert ocr.engine() is not engine
    said = capsys.readouterr().err
    assert said.count("JIXIAO_OCR_DEVICE=cuda") == 1
    assert "没有可用的 CUDA" in said and "OCR runs on the CPU" in said


def test_an_unknown_runtime_or_device_is_named(monkeypatch):
    monkeypatch.setenv("JIXIAO_OCR_RUNTIME", "tensorrt")
    with pytest.raises(InputError, match="JIXIAO_OCR_RUNTIME=tensorrt.*unknown OCR runtime"):
        ocr.engine()
    monkeypatch.setenv("JIXIAO_OCR_RUNTIME", "onnxruntime")
    monkeypatch.setenv("JIXIAO_OCR_DEVICE", "tpu")
    with pytest.raises(InputError, match="JIXIAO_OCR_DEVICE=tpu.*unknown OCR device"):
        ocr.engine()
