"""A held-out IHE ACM Alert Manager: Debian's python3-hl7 (other authors, other language) parses
every PCD-04 it receives over MLLP, checks it field by field against IHE PCD TF-2 (the rules below
are written from the TF-2 tables, not from pumpwatch's code), prints one JSON line per message and
answers with python3-hl7's own create_ack. Usage: python3 python-hl7-am.py [REFUSE_FIRST]
(the first REFUSE_FIRST messages get MSA|CE, the rest MSA|CA)."""
import asyncio
import json
import re
import sys

import hl7
from hl7.mllp import start_hl7_server

REFUSE_FIRST = int(sys.argv[1]) if len(sys.argv) > 1 else 0
DTM = re.compile(r"^\d{14}(\.\d{1,4})?[+-]\d{4}$")
FACET_CODES = ["68480", "68481", "68482", "68483", "68484", "68485"]  # TF-2 Table B.8.5-1, facets 2-7
PHASES = {"start", "start_only", "continue", "end", "present", "update", "escalate", "deescalate", "inactivate", "acknowledged", "reset", "stop", "tpoint"}
received = 0


def check(m):
    msh, obr, obx = m.segment("MSH"), m.segment("OBR"), m.segments("OBX")
    ids = [str(segment[0]) for segment in m]
    checks = {
        "B.1 MSH-9 is ORU^R40^ORU_R40": str(msh[9]) == "ORU^R40^ORU_R40",
        "B.1 MSH-7 has a zone offset": bool(DTM.match(str(msh[7]))),
        "B.1 MSH-10 present": str(msh[10]) != "",
        "B.1 MSH-12 is 2.6": str(msh[12]) == "2.6",
        "B.1 MSH-15 is AL": str(msh[15]) == "AL",
        "B.1 MSH-16 is NE": str(msh[16]) == "NE",
        "B.1 MSH-18 declares UTF-8": str(msh[18]) == "UNICODE UTF-8",
        "B.1 MSH-21 carries the PCD-04 OID": m["MSH.F21.R1.C3"] == "1.3.6.1.4.1.19376.1.6.1.4.1",
        "3.4.4.1.2-2 one OBR (one alert per message)": ids.count("OBR") == 1,
        "B.6.1 PV1-3 location present": "PV1" in ids and str(m.segment("PV1")[3]) != "",
        "3.4.4.1.2-2 PID, when present, before PV1": "PID" not in ids or ids.index("PID") == 1 and ids.index("PV1") == 2,
        "B.5.1 PID-3 patient identifier, when PID is present": "PID" not in ids or m["PID.F3.R1.C1"] != "",
        "B.7.1 OBR-4 is 196616^MDC_EVT_ALARM^MDC": str(obr[4]) == "196616^MDC_EVT_ALARM^MDC",
        "B.7.1 OBR-3 alert identifier present": m["OBR.F3.R1.C1"] != "",
        "B.8.5-2 seven facet OBX": len(obx) >= 7,
        "B.8 OBX-4 facets 1..7 ascending": [str(o[4]).split(".")[-1] for o in obx[:7]] == [str(n) for n in range(1, 8)],
        "B.8.5-1 facet codes 68480-68485": [str(o[3]).split("^")[0] for o in obx[1:7]] == FACET_CODES,
        "B.8.6 OBX-11 always F": all(str(o[11]) == "F" for o in obx),
        "B.8.5 facet 1 OBX-14 alert time": bool(DTM.match(str(obx[0][14]))),
        "B.8 facet 1 OBX-18 equipment": str(obx[0][18]) != "",
        "B.8.5-4 phase allowed": str(obx[2][5]) in PHASES,
        "B.8.5 state allowed": str(obx[3][5]) in {"active", "inactive", "latched"},
        "B.8.5-2 priority allowed": str(obx[5][5]) in {"PH", "PM", "PL", "PN"},
        "B.8.5-2 type allowed": str(obx[6][5]) in {"SP", "ST", "SA"},
    }
    fields = {
        "controlId": str(msh[10]),
        "obr3": m["OBR.F3.R1.C1"],
        "obr29": m["OBR.F29.R1.C2"] if len(obr) > 29 else "",
        "event": str(obx[0][5]).split("^")[0],
        "text": m["OBX.F5.R1.C9"],
        "phase": str(obx[2][5]),
        "state": str(obx[3][5]),
        "inactivation": str(obx[4][5]),
        "priority": str(obx[5][5]),
        "type": str(obx[6][5]),
        "location": str(m.segment("PV1")[3]),
        "bed": m["PV1.F3.R1.C3"],
        "patient": m["PID.F3.R1.C1"] if "PID" in ids else "",
    }
    return checks, fields


async def handle(reader, writer):
    global received
    try:
        while not writer.is_closing():
            message = await reader.readmessage()
            received += 1
            code = "CE" if received <= REFUSE_FIRST else "CA"
            try:
                checks, fields = check(message)
            except Exception as error:  # a message we cannot even walk fails every check
                checks, fields = {"parsed": False, "error": str(error)}, {}
            print(json.dumps({"checks": checks, "fields": fields, "answered": code}), flush=True)
            writer.writemessage(message.create_ack(ack_code=code))
            await writer.drain()
    except asyncio.IncompleteReadError:
        if not writer.is_closing():
            writer.close()


async def main():
    server = await start_hl7_server(handle, "127.0.0.1", 0, encoding="utf-8")
    print(json.dumps({"listening": server.sockets[0].getsockname()[1]}), flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
