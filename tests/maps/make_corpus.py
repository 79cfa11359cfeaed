# Writes the corpus of broken maps (*.yaml) and their expected problems (*.expect) into the current
# directory: run it from tests/maps after editing a case. "#! COL WORDS" marks the expected line.
import pathlib
import re

HEAD = """version: 1
hotline: {number: "12345", queue: hotline}
queues: {hotline: 综合受理, minzheng: 民政, yingji: 应急管理, yancao: 烟草}
departments:
  mzj: {name: 市民政局, skill: minzheng}
  yjj: {name: 市应急管理局, skill: yingji}
  ycj: {name: 市烟草局, skill: yancao}
trunks:
  province: {kind: province, contact: "sip:127.0.0.1:5090"}
  seats-12350: {kind: seats, contact: "sip:127.0.0.1:5091"}
  subcenter-12313: {kind: subcenter, contact: "sip:127.0.0.1:5092"}
"""
cases = {
    "unknown_mode": HEAD
    + """lines:
  - number: "12349"
    name: 全国统一民政服务电话
    department: mzj
    mode: 合并  #! 5 unknown mode '合并'
""",
    "unknown_department": HEAD
    + """lines:
  - number: "12349"
    name: 全国统一民政服务电话
    department: 市民政厅  #! 5 unknown department '市民政厅'
    mode: merge
""",
    "duplicate_number": HEAD
    + """lines:
  - {number: "12349", name: 民政, department: mzj, mode: merge}
  - {number: "12349", name: 民政二, department: mzj, mode: merge}  #! 6 duplicate number 12349 (first at line 13:6)
  - {number: "12345", name: 假12345, department: mzj, mode: merge}  #! 6 duplicate number 12345
""",
    "unknown_queue": """version: 1
hotline: {number: "12345", queue: hotline}
queues: {hotline: 综合受理, minzheng: 民政}
departments:
  mzj: {name: 市民政局, skill: minzheng}
  yjj: {name: 市应急管理局, skill: anquan}  #! 23 unknown queue 'anquan' for department yjj
lines:
  - number: "12349"
    name: 全国统一民政服务电话
    department: mzj
    mode: merge
    queue: mingzheng  #! 5 unknown queue 'mingzheng'
""",
    "emergency_110": HEAD
    + """lines:
  - number: "110"  #! 5 110 is never integrated into 12345: 110 is the police emergency number
    name: 报警电话
    department: mzj
    mode: merge
  - number: "120"  #! 5 120 is the medical emergency number
    name: 急救
    department: mzj
    mode: merge
""",
    "emergency_others": HEAD
    + """lines:
  - {number: "12395", name: 海上遇险, department: mzj, mode: merge}  #! 6 12395 is the maritime distress
  - {number: "999", name: 红十字急救, department: mzj, mode: merge}  #! 6 999 is the Red Cross
  - {number: "12110", name: 短信报警, department: mzj, mode: merge}  #! 6 12110 is the police emergency
  - {number: "12368", name: 法院诉讼服务, department: mzj, mode: merge}  #! 6 不含人大、政协、法院
""",
    "dual_without_target": HEAD
    + """lines:
  - number: "12350"
    name: 全国统一安全生产举报投诉电话
    department: yjj
    mode: 双号并行  #! 5 双号并行 line 12350 with seats kept needs a target
    seats: retained_temporarily
""",
    "subcenter_without_target": HEAD
    + """lines:
  - number: "12313"
    name: 全国烟草专卖品市场监管举报电话
    department: ycj
    mode: 设分中心  #! 5 设分中心 line 12313 with seats kept needs a target
    seats: retained
""",
    "overflow_loop": HEAD
    + """  seats-12320: {kind: seats, contact: "sip:127.0.0.1:5093"}
lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: dual
    seats: retained_temporarily
    target: seats-12350
    overflow: {to: "12320", timeout: 20}
  - number: "12320"
    name: 公共卫生
    department: yjj
    mode: dual
    seats: retained_temporarily
    target: seats-12320
    overflow: {to: "12350", timeout: 20}  #! 16 overflow loop: 12350 -> 12320 -> 12350
""",
    "overflow_self": HEAD
    + """lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: dual
    seats: retained_temporarily
    target: seats-12350
    overflow:
      to: "12350"  #! 7 overflow loop: 12350 -> 12350
""",
    "yaml_syntax": HEAD
    + """lines:
  - number: "12349"
    name: [民政
    department: mzj  #! 15 YAML syntax
""",
    "duplicate_key": HEAD
    + """lines:
  - number: "12349"
    name: 全国统一民政服务电话
    name: 民政  #! 5 duplicate key 'name'
    department: mzj
    mode: merge
""",
    "many_problems": HEAD
    + """lines:
  - {number: "12349", name: 民政, department: mzj, mode: 整体合并}  #! 50 unknown mode '整体合并'
  - {number: "12336", name: 自然资源, department: 市自然资源局, mode: merge}  #! 35 unknown department
  - {number: "12350", name: 安全生产, department: yjj, mode: dual, seats: retained}  #! 52 needs a target
  - number: "12312"
    name: 商务
    department: mzj
    mode: merge
    transition: {text: 已并入12345, until: 2025-12-31}
  - {number: "119", name: 火警, department: mzj, mode: merge}  #! 6 119 is the fire emergency number
""",
    "shanxi_alias_conflict": HEAD
    + """lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: 来电转移
    seats: retained  #! 5 mode 来电转移 means seats cancelled, not retained
    target: seats-12350
""",
    "subcenter_not_7x24": HEAD
    + """lines:
  - number: "12313"
    name: 烟草
    department: ycj
    mode: subcenter
    seats: retained
    target: subcenter-12313
    hours: ["mon-fri 08:30-17:30"]  #! 5 设分中心 serves 7x24
""",
    "bad_hours": HEAD
    + """lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: dual
    seats: retained_temporarily
    target: seats-12350
    hours: ["mon-fri 17:30-08:30", "weekdays 9:00-12:00"]  #! 5 the end must be after the start
""",
    "unknown_target": HEAD
    + """lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: dual
    seats: retained
    target: seats-yingji  #! 5 unknown target 'seats-yingji'
""",
    "merge_keeps_seats": HEAD
    + """lines:
  - number: "12349"
    name: 民政
    department: mzj
    mode: 直接合并
    seats: retained  #! 5 整体并入 cancels the department's seats
""",
    "bad_trunk_contact": """version: 1
hotline: {number: "12345", queue: hotline}
queues: {hotline: 综合受理}
departments: {mzj: {name: 市民政局, skill: hotline}}
trunks:
  province: {kind: province, contact: "10.0.0.1:5060"}  #! 30 contact '10.0.0.1:5060' is not a SIP URI
  Sub_Center: {kind: subcenter, contact: "sip:10.0.0.2"}  #! 3 trunk name 'Sub_Center'
lines: []
""",
    "misspelt_field": HEAD
    + """lines:
  - number: "12349"  #! 5 department: Field required
    name: 民政
    deparment: 市民政局  #! 5 deparment: Extra inputs are not permitted
    mode: merge
""",
    "province_without_trunk": """version: 1
hotline: {number: "12345", queue: hotline}
queues: {hotline: 综合受理, keji: 科技}
departments: {kjj: {name: 市科技局, skill: keji}}
lines:
  - number: "12396"
    name: 全国统一科技公益服务电话
    department: kjj
    mode: merge
    level: province  #! 5 province line without a province trunk
""",
    "overflow_unknown": HEAD
    + """lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: dual
    seats: retained
    target: seats-12350
    overflow: {to: "12399", timeout: 20}  #! 16 unknown overflow target '12399'
  - number: "12320"
    name: 公共卫生
    department: yjj
    mode: dual
    seats: retained
    target: seats-12350
    overflow: {to: "12345", timeout: 3}  #! 29 overflow.timeout: Input should be greater than or equal to 5
""",
    "reserved_queue_name": """version: 1
hotline: {number: "12345", queue: hotline}
queues: {hotline: 综合受理, general: 综合}  #! 25 queue name 'general' is reserved
departments: {mzj: {name: 市民政局, skill: hotline}}
lines: []
""",
    "not_a_mapping": """- just  #! 1 the transfer map must be a mapping
- a list
""",
}
here = pathlib.Path(".")
for name, text in cases.items():
    clean, expect = [], []
    for i, line in enumerate(text.splitlines(), 1):
        m = re.search(r"\s+#! (\d+) (.*)$", line)
        if m:
            line = line[: m.start()]
            expect.append(f"{name}.yaml:{i}:{m.group(1)}: {m.group(2)}")
        clean.append(line)
    (here / f"{name}.yaml").write_text("\n".join(clean) + "\n", encoding="utf-8")
    (here / f"{name}.expect").write_text("\n".join(expect) + "\n", encoding="utf-8")
print(len(cases))
