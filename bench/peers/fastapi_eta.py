"""bench/peers/fastapi_eta.py — the FastAPI peer of mlserve for bench/serve.sh.

The same V2 infer endpoint and the same data contract as mlserve serving
examples/eta 2.0.0 (eta = 1.07 * d / v + 0.05; v, d finite and > 0), written
the way a FastAPI user would: pydantic models, an `async def` handler, errors
as 400 {"error": ...}. Run with Debian's packages:

    /usr/bin/python3 -m uvicorn --app-dir bench/peers fastapi_eta:app \
        --host 127.0.0.1 --port PORT --workers 1 --no-access-log
"""
import math
from typing import List, Literal, Optional, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, conint

MODEL = "eta"
VERSION = "2.0.0"
NUMERIC = Literal["FP64", "FP32", "FP16", "INT8", "INT16", "INT32", "INT64",
                  "UINT8", "UINT16", "UINT32", "UINT64"]


class Tensor(BaseModel):
    name: str
    shape: List[conint(ge=0)]
    datatype: NUMERIC
    data: List[Union[float, List[float]]]


class OutputRequest(BaseModel):
    name: str


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[Tensor]
    outputs: Optional[List[OutputRequest]] = None
    parameters: Optional[dict] = None


app = FastAPI(title="eta (FastAPI peer)")


class ContractError(Exception):
    pass


@app.exception_handler(RequestValidationError)
async def on_validation(_: Request, exc: RequestValidationError):
    first = exc.errors()[0]
    where = ".".join(str(x) for x in first.get("loc", ()))
    return JSONResponse({"error": f"{where}: {first.get('msg')}"}, status_code=400)


@app.exception_handler(ContractError)
async def on_contract(_: Request, exc: ContractError):
    return JSONResponse({"error": str(exc)}, status_code=400)


def flat(data):
    out = []
    for x in data:
        out.extend(x if isinstance(x, list) else [x])
    return out


def column(req: InferRequest, name: str) -> List[float]:
    found = [t for t in req.inputs if t.name == name]
    if not found:
        raise ContractError(f"input '{name}': missing (required by the contract)")
    if len(found) > 1:
        raise ContractError(f"input '{name}': given more than once")
    t = found[0]
    values = flat(t.data)
    if len(t.shape) not in (1, 2) or (len(t.shape) == 2 and t.shape[1] != 1):
        raise ContractError(f"input '{name}': shape {t.shape} is not supported")
    if math.prod(t.shape) != len(values):
        raise ContractError(f"input '{name}': shape {t.shape} does not match "
                            f"the {len(values)} values in 'data'")
    for x in values:
        if not math.isfinite(x):
            raise ContractError(f"input '{name}': must be a finite number, got {x}")
        if not x > 0:
            raise ContractError(f"input '{name}': must be > 0, got {x:g}")
    return values


@app.post("/v2/models/eta/infer")
async def infer(req: InferRequest):
    for t in req.inputs:
        if t.name not in ("v", "d"):
            raise ContractError(f"input '{t.name}': unknown input (expected v, d)")
    v = column(req, "v")
    d = column(req, "d")
    if len(v) != len(d):
        raise ContractError(f"input 'd': batch size {len(d)} differs from input 'v'")
    eta = [1.07 * dd / vv + 0.05 for vv, dd in zip(v, d)]
    out = {"model_name": MODEL, "model_version": VERSION,
           "outputs": [{"name": "eta", "datatype": "FP64", "shape": [len(eta)], "data": eta}]}
    if req.id is not None:
        out["id"] = req.id
    return out


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}
