"""Policy facts of the two plans that the transfer map enforces: modes, levels, numbers never integrated.

Handan: 邯政办字〔2021〕24号; Shanxi: 晋政办发电〔2020〕47号.
"""

from __future__ import annotations

MODE_NAMES = {"merge": "整体并入", "dual": "双号并行", "subcenter": "设分中心"}
# accepted spellings -> (mode, seats implied by the Shanxi term or None)
MODE_ALIASES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "merge": ("merge", None),
    "整体并入": ("merge", None),
    "直接合并": ("merge", None),  # Shanxi: 原号码的热线功能由12345热线统一提供
    "dual": ("dual", None),
    "双号并行": ("dual", None),
    "来电转移": ("dual", ("cancelled",)),  # Shanxi: 取消坐席但保留热线号码
    "并行接听": ("dual", ("retained", "retained_temporarily")),  # Shanxi: 保留原号码与坐席
    "subcenter": ("subcenter", None),
    "设分中心": ("subcenter", None),
}
LEVEL_ALIASES = {
    "city": "city",
    "市": "city",
    "市级": "city",
    "province": "province",
    "省": "province",
    "省级": "province",
}
SEATS = ("cancelled", "retained", "retained_temporarily")
# 邯政办字〔2021〕24号 二(四): 逐步建立12345热线与110、119、120、122等紧急热线的联动机制 --
# the emergency lines a linkage trunk (transfer_map.yaml, trunk kind emergency) may reach
LINKAGE_NUMBERS = ("110", "119", "120", "122")

_HANDAN = "邯政办字〔2021〕24号 一(二)：除110、119、120、122等紧急热线外的政务服务便民热线归并"
_SHANXI = "晋政办发电〔2020〕47号 二(二)1：不含110、119、120、122等紧急类热线"
_SHANXI_ORGANS = "晋政办发电〔2020〕47号 二(二)1：不含人大、政协、法院、检察院、纪检监察、国家安全等设立的热线"
# numbers that are never integrated into 12345, with the policy reason
NEVER_INTEGRATED: dict[str, str] = {
    "110": f"110 is the police emergency number ({_HANDAN}; {_SHANXI})",
    "119": f"119 is the fire emergency number ({_HANDAN}; {_SHANXI})",
    "120": f"120 is the medical emergency number ({_HANDAN}; {_SHANXI})",
    "122": f"122 is the traffic accident emergency number ({_HANDAN}; {_SHANXI})",
    "112": f"112 is the mobile emergency number, routed to 110 ({_SHANXI}: 等紧急类热线)",
    "999": f"999 is the Red Cross medical emergency number ({_SHANXI}: 等紧急类热线)",
    "12110": f"12110 is the police emergency SMS/voice number ({_SHANXI}: 等紧急类热线)",
    "12119": f"12119 is the forest fire emergency number ({_SHANXI}: 等紧急类热线)",
    "12120": f"12120 is the medical emergency number ({_SHANXI}: 等紧急类热线)",
    "12122": f"12122 is the expressway emergency rescue number ({_SHANXI}: 等紧急类热线)",
    "12395": f"12395 is the maritime distress emergency number ({_SHANXI}: 等紧急类热线)",
    "12309": f"12309 is the procuratorate's hotline ({_SHANXI_ORGANS})",
    "12368": f"12368 is the courts' hotline ({_SHANXI_ORGANS})",
    "12388": f"12388 is the discipline inspection and supervision hotline ({_SHANXI_ORGANS})",
    "12339": f"12339 is the national security hotline ({_SHANXI_ORGANS})",
}


def normalize_mode(value: str) -> tuple[str, tuple[str, ...] | None]:
    v = str(value).strip()
    key = v.lower() if v.isascii() else v
    if key not in MODE_ALIASES:
        raise ValueError(
            f"unknown mode {value!r}: use merge (整体并入, 直接合并), dual (双号并行, 来电转移, 并行接听)"
            " or subcenter (设分中心)"
        )
    return MODE_ALIASES[key]
