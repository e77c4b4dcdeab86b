"""The demo county (``flask --app wsgi demo``): a realistic year of node work.

清溪县 is fictional. Its ten leagues, ~56 units, ~80 projects and ~1,900
nodes are generated around an anchor date *D* (``today``): the node plan
covers the whole calendar year of D, and every node's status, card, card
events and re-commitments are what the rules of SPEC section 3 would have
produced by D. The same D always gives the same county: the dice are a
seeded ``random.Random`` and nothing here reads the wall clock (only the one
audit entry takes its time from the app's clock).

The full variety of cases (green, late, yellow, pending and rejected
re-commitments, red, waiting for sign-off, due soon) needs a D far enough into
the year, from about mid-February to mid-December; near the ends of the year
the cases that cannot fit are simply absent.
"""

from __future__ import annotations

import calendar
import random
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from flask import current_app
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from portal.audit import services as audit
from portal.cards.services import issue_rule_card
from portal.core.clock import Clock, FixedClock
from portal.core.extensions import db
from portal.models import (
    STAGES,
    Base,
    CardEvent,
    Category,
    Interview,
    League,
    Node,
    ProgressEntry,
    Project,
    Recommitment,
    ScoringPolicy,
    Theme,
    Unit,
    User,
)
from portal.sweeps.services import sweep

SEED = 20260615
COUNTY = "清溪县"
DEMO_PASSWORD = "jiedian-demo"

# --------------------------------------------------------------------------
# Organisation
# --------------------------------------------------------------------------

OFFICE = "县委县政府督查室"
GOVERNMENT = "清溪县人民政府"


class LeagueSpec(NamedTuple):
    """A league and its units, in ranking order."""

    name: str
    description: str
    kind: str  # picks the staff titles: town, park, dept, soe
    units: tuple[tuple[str, str], ...]  # (name, short name)


LEAGUES: tuple[LeagueSpec, ...] = (
    LeagueSpec("乡镇联赛(一)", "县城周边及城镇化较快的乡镇", "town", (
        ("清溪镇", "清溪镇"), ("青山镇", "青山镇"), ("龙泉镇", "龙泉镇"),
        ("双河镇", "双河镇"), ("白石镇", "白石镇"), ("梅岭镇", "梅岭镇"),
    )),
    LeagueSpec("乡镇联赛(二)", "以农业和生态功能为主的乡镇", "town", (
        ("杨柳镇", "杨柳镇"), ("凤鸣镇", "凤鸣镇"), ("金桥镇", "金桥镇"),
        ("石门乡", "石门乡"), ("云溪乡", "云溪乡"), ("花园乡", "花园乡"),
    )),
    LeagueSpec("园区联赛", "开发区及各类产业园区", "park", (
        ("清溪经济开发区", "经开区"), ("清溪高新技术产业开发区", "高新区"),
        ("白石工业园", "白石工业园"), ("清溪现代农业产业园", "农业产业园"),
    )),
    LeagueSpec("经济部门联赛", "经济运行与投资促进部门", "dept", (
        ("县发展和改革委员会", "县发改委"), ("县经济和信息化局", "县经信局"),
        ("县商务局", "县商务局"), ("县财政局", "县财政局"),
        ("县统计局", "县统计局"), ("县投资促进中心", "县投促中心"),
    )),
    LeagueSpec("城建部门联赛", "规划、建设与城市管理部门", "dept", (
        ("县住房和城乡建设局", "县住建局"), ("县自然资源和规划局", "县自然资源规划局"),
        ("县交通运输局", "县交通局"), ("县水务局", "县水务局"),
        ("县城市管理局", "县城管局"), ("县重点工程建设管理中心", "县重点局"),
    )),
    LeagueSpec("农业农村部门联赛", "农业、林业与农村工作部门", "dept", (
        ("县农业农村局", "县农业农村局"), ("县林业局", "县林业局"),
        ("县供销合作社联合社", "县供销社"), ("县农村经营管理服务中心", "县农经中心"),
    )),
    LeagueSpec("社会事业部门联赛", "教育、卫生、文化与社会保障部门", "dept", (
        ("县教育体育局", "县教体局"), ("县卫生健康委员会", "县卫健委"),
        ("县文化和旅游局", "县文旅局"), ("县民政局", "县民政局"),
        ("县人力资源和社会保障局", "县人社局"), ("县医疗保障局", "县医保局"),
    )),
    LeagueSpec("综合部门联赛", "党委部门及综合服务部门", "dept", (
        ("县委组织部", "县委组织部"), ("县委宣传部", "县委宣传部"),
        ("县委政法委员会", "县委政法委"), ("县数据资源管理局", "县数据资源局"),
        ("县政务服务管理局", "县政务服务局"), ("县信访局", "县信访局"),
    )),
    LeagueSpec("执法监管部门联赛", "执法、监管与安全部门", "dept", (
        ("县市场监督管理局", "县市场监管局"), ("市生态环境局清溪分局", "县生态环境分局"),
        ("县应急管理局", "县应急局"), ("县公安局", "县公安局"),
        ("国家税务总局清溪县税务局", "县税务局"),
    )),
    LeagueSpec("国有企业联赛", "县属国有企业", "soe", (
        ("清溪县城市建设投资集团有限公司", "县城投集团"),
        ("清溪县交通投资有限公司", "县交投公司"),
        ("清溪县产业投资集团有限公司", "县产投集团"),
        ("清溪县水务集团有限公司", "县水务集团"),
        ("清溪县文化旅游发展集团有限公司", "县文旅集团"),
    )),
)

STAFF_TITLES: dict[str, tuple[str, ...]] = {
    "town": ("分管副职", "党政办主任", "经济发展办主任", "村镇建设办主任", "社会事务办主任", "项目办工作人员"),
    "park": ("管委会副主任", "经济发展局局长", "规划建设局局长", "招商服务局科员", "综合办主任"),
    "dept": ("分管负责同志", "办公室主任", "业务股室负责人", "项目联络员", "综合股科员"),
    "soe": ("副总经理", "工程部经理", "综合部经理", "项目专员"),
}
STAFF_PER_UNIT = {"town": (4, 6), "park": (4, 5), "dept": (3, 4), "soe": (3, 4)}


class Account(NamedTuple):
    """A demo account that logs in with DEMO_PASSWORD."""

    username: str
    role: str
    display_name: str
    title: str
    unit: str  # unit short name


ACCOUNTS: tuple[Account, ...] = (
    Account("admin", "admin", "陈思远", "信息管理员", OFFICE),
    Account("supervisor", "supervisor", "孙立群", "主任", OFFICE),
    Account("leader", "leader", "周建华", "副县长", GOVERNMENT),
    Account("staff", "unit_staff", "刘晓燕", "党政办主任", "青山镇"),
    Account("contact", "contact", "吴海涛", "工程部经理", "县城投集团"),
)
STAFF_UNIT = "青山镇"
CONTACT_PROJECT_LEAD = "县城投集团"  # the contact follows this unit's projects

# County leaders (县领导) and the leagues in their charge (分管). The first is
# the demo account "leader"; every ranked unit has exactly one leader.
LEADERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("leader", "周建华", "副县长", ("乡镇联赛(一)", "农业农村部门联赛")),
    ("leader-2", "黄志明", "常务副县长", ("经济部门联赛", "国有企业联赛")),
    ("leader-3", "马文斌", "副县长", ("城建部门联赛", "乡镇联赛(二)")),
    ("leader-4", "郑丽萍", "副县长", ("社会事业部门联赛",)),
    ("leader-5", "何静", "县委常委、宣传部部长", ("综合部门联赛",)),
    ("leader-6", "罗振宇", "县委常委、经开区党工委书记", ("园区联赛",)),
    ("leader-7", "梁卫东", "副县长、县公安局局长", ("执法监管部门联赛",)),
)
EXTRA_SUPERVISORS = 2  # 督查专员 besides the demo supervisor

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏"
    "苏吕丁任沈姚卢汪钟姜崔谭陆范金石廖贾夏韦方邹熊白孟秦邱侯江尹薛段雷龙黎史陶贺毛郝顾龚邵万钱严武戴孔汤"
)
GIVEN = (
    "建国明华强军伟芳敏静丽磊洋勇艳杰娟涛超霞平刚桂英文斌鹏辉玲宇浩凯俊婷雪琳晨宁波峰海燕红林志立新"
    "春晓东亮成飞云彬慧颖佳欣博瑞鑫嘉思雨梦怡航帆毅卫胜保玉秀兰凤萍秋荣德福祥永安学庆宏振"
)

# --------------------------------------------------------------------------
# Categories, themes, projects
# --------------------------------------------------------------------------

# (name, code abbreviation, default timeline theme)
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("产业项目", "CY", "产业创新"),
    ("城市建设", "CS", "城乡发展"),
    ("乡村振兴", "XC", "城乡发展"),
    ("文明创建", "WM", "团队改革"),
    ("为企为民", "WQ", "团队改革"),
    ("民生工程", "MS", "城乡发展"),
)
THEMES = ("产业创新", "城乡发展", "团队改革")

LEAD = "@lead"  # the project's lead unit
SITE = "@site"  # the township or park where the project is built
CO = "@co"  # one of the project's listed co-units, in turn


class Step(NamedTuple):
    """One node of a track: what, how it is signed off, by whom."""

    title: str
    standard: str  # 销号标准; {unit} is the responsible unit's name
    who: str  # LEAD, SITE, CO or a unit short name
    weight: int = 1
    is_major: bool = False
    reaches: str | None = None  # the project stage reached when it is done


_S = Step  # short aliases keep the tables below one row per line
TRACKS: dict[str, tuple[Step, ...]] = {
    "plant": (
        _S("完成项目投资合同签约", "以县政府与投资方签订的正式投资合同为准", LEAD, 2, True, "signed"),
        _S("完成项目公司注册", "以{unit}核发的营业执照为准", "县市场监管局"),
        _S("完成投资项目备案", "以投资项目在线审批监管平台赋码备案信息为准", "县发改委"),
        _S("完成节能审查", "以{unit}出具的节能审查意见为准", "县发改委"),
        _S("完成环评批复", "以{unit}出具的环境影响评价批复文件为准", "县生态环境分局"),
        _S("完成征迁交地", "以属地、自然资源部门和项目单位三方签字的土地移交确认书为准", SITE, 2),
        _S("完成土地挂牌", "以县公共资源交易中心网站发布的挂牌出让公告为准", "县自然资源规划局"),
        _S("完成土地摘牌", "以成交确认书及国有建设用地使用权出让合同为准", "县自然资源规划局", 2),
        _S("取得不动产权证书", "以{unit}核发的不动产权证书为准", "县自然资源规划局"),
        _S("取得建设工程规划许可证", "以{unit}核发的建设工程规划许可证为准", "县自然资源规划局"),
        _S("完成施工图审查", "以施工图审查机构出具的审查合格书为准", "县住建局"),
        _S("取得施工许可证", "以{unit}核发的建筑工程施工许可证为准", "县住建局", 2),
        _S("正式开工建设", "以监理单位签发的开工令及现场开工照片为准", LEAD, 3, True, "started"),
        _S("完成桩基施工", "以桩基检测报告及监理单位验收记录为准", LEAD, 1, False, "building"),
        _S("主体结构封顶", "以监理单位出具的主体封顶确认单及现场照片为准", LEAD, 3, True),
        _S("完成厂房钢结构及屋面工程", "以监理单位分部工程验收记录为准", LEAD),
        _S("完成供电、供气外部配套接入", "以供电、燃气企业出具的接入确认单为准", LEAD),
        _S("生产设备进场", "以设备到货验收清单及现场照片为准", LEAD),
        _S("完成设备安装调试", "以设备供应商和建设单位共同签字的调试报告为准", LEAD, 2),
        _S("完成消防验收", "以{unit}出具的特殊建设工程消防验收意见书为准", "县住建局"),
        _S("完成竣工验收备案", "以{unit}出具的竣工验收备案表为准", "县住建局", 2, True, "completed"),
        _S("开始试生产", "以企业试生产方案备案及首批产品出库单为准", LEAD),
        _S("正式投产", "以企业投产报告及连续生产记录为准", LEAD, 3, True, "producing"),
        _S("纳入规上工业企业统计", "以{unit}联网直报平台入库信息为准", "县统计局", 1, False, "performing"),
    ),
    "infra": (
        _S("完成项目建议书批复", "以{unit}出具的项目建议书批复文件为准", "县发改委", 1, False, "signed"),
        _S("完成可研批复", "以{unit}出具的可行性研究报告批复文件为准", "县发改委", 2),
        _S("取得用地预审与选址意见书", "以{unit}核发的用地预审与选址意见书为准", "县自然资源规划局"),
        _S("完成初步设计及概算批复", "以{unit}出具的初步设计及概算批复文件为准", "县发改委"),
        _S("完成征迁摸底调查", "以属地签字确认的征迁摸底台账为准", SITE),
        _S("完成征迁交地", "以属地与建设单位签字的交地确认书为准", SITE, 3, True),
        _S("完成施工图设计及审查", "以施工图审查机构出具的审查合格书为准", LEAD),
        _S("完成招标挂网", "以县公共资源交易中心网站发布的招标公告为准", LEAD),
        _S("完成施工招标", "以中标通知书及施工合同为准", LEAD),
        _S("取得施工许可证", "以{unit}核发的施工许可证为准", "县住建局", 2),
        _S("施工单位进场开工", "以监理单位签发的开工令为准", LEAD, 2, True, "started"),
        _S("完成管线迁改", "以供电、通信、燃气等产权单位出具的迁改完成确认单为准", CO, 1, False, "building"),
        _S("完成路基及土方工程", "以监理单位分项工程验收记录为准", LEAD),
        _S("完成雨污管网铺设", "以管道闭水试验记录及CCTV检测报告为准", LEAD, 2),
        _S("完成路面沥青摊铺", "以监理单位分部工程验收记录及现场照片为准", LEAD),
        _S("完成照明、绿化等附属工程", "以监理单位分部工程验收记录为准", LEAD),
        _S("完成交工验收", "以建设、设计、施工、监理四方签字的交工验收证书为准", LEAD, 2, True, "completed"),
        _S("完成竣工验收备案", "以{unit}出具的竣工验收备案表为准", "县住建局"),
        _S("移交管养单位", "以管养移交协议及移交清单为准", "县城管局", 1, False, "producing"),
        _S("完成工程结算评审", "以县财政投资评审中心出具的评审报告为准", "县财政局", 1, False, "performing"),
    ),
    "building": (
        _S("完成可研批复", "以{unit}出具的可行性研究报告批复文件为准", "县发改委", 2, False, "signed"),
        _S("完成土地供应", "以{unit}核发的划拨决定书或出让合同为准", "县自然资源规划局"),
        _S("完成规划方案审查", "以{unit}出具的规划方案审查意见为准", "县自然资源规划局"),
        _S("取得建设工程规划许可证", "以{unit}核发的建设工程规划许可证为准", "县自然资源规划局"),
        _S("完成施工图审查", "以施工图审查机构出具的审查合格书为准", "县住建局"),
        _S("完成施工招标", "以中标通知书及施工合同为准", LEAD),
        _S("取得施工许可证", "以{unit}核发的建筑工程施工许可证为准", "县住建局", 2),
        _S("正式开工建设", "以监理单位签发的开工令及现场开工照片为准", LEAD, 3, True, "started"),
        _S("完成地基与基础工程", "以地基与基础分部工程验收记录为准", LEAD, 1, False, "building"),
        _S("主体结构封顶", "以监理单位出具的主体封顶确认单及现场照片为准", LEAD, 3, True),
        _S("完成砌体及二次结构", "以监理单位分项工程验收记录为准", LEAD),
        _S("完成外立面装饰工程", "以监理单位分部工程验收记录及现场照片为准", LEAD),
        _S("完成室内装修及机电安装", "以监理单位分部工程验收记录为准", LEAD, 2),
        _S("完成室外配套工程", "以监理单位分部工程验收记录为准", CO),
        _S("完成消防验收", "以{unit}出具的特殊建设工程消防验收意见书为准", "县住建局"),
        _S("完成竣工验收备案", "以{unit}出具的竣工验收备案表为准", "县住建局", 2, True, "completed"),
        _S("完成设施设备采购", "以政府采购合同及到货验收单为准", LEAD),
        _S("正式投入使用", "以运营单位接收确认书及启用现场照片为准", LEAD, 3, True, "producing"),
    ),
    "rural": (
        _S("完成建设规划编制", "以县级评审通过的规划文本为准", LEAD, 1, False, "signed"),
        _S("完成实施方案评审", "以专家评审意见及修改后的实施方案为准", "县农业农村局"),
        _S("村民代表大会表决通过", "以村民代表大会会议记录及表决结果公示照片为准", SITE),
        _S("下达项目资金", "以{unit}下达的资金文件为准", "县财政局"),
        _S("完成施工招标（比选）", "以中标（成交）通知书为准", LEAD),
        _S("进场施工", "以开工令及现场照片为准", LEAD, 2, True, "started"),
        _S("完成村内道路硬化", "以监理单位验收记录为准", LEAD, 1, False, "building"),
        _S("完成生活污水收集设施建设", "以管网闭水试验记录及现场照片为准", SITE),
        _S("完成农房风貌改造", "以属地验收台账及改造前后对比照片为准", SITE, 2),
        _S("完成村庄绿化美化", "以属地验收记录及现场照片为准", SITE),
        _S("完成配套产业设施建设", "以监理单位验收记录为准", CO),
        _S("完成农产品产销对接", "以签订的产销合作协议为准", CO),
        _S("完成属地初验", "以属地初验报告为准", SITE),
        _S("通过县级验收", "以{unit}出具的县级验收意见为准", "县农业农村局", 2, True, "completed"),
        _S("建立长效管护机制", "以村规民约及管护协议为准", SITE, 1, False, "producing"),
        _S("完成项目资金报账", "以{unit}报账凭证为准", "县财政局", 1, False, "performing"),
    ),
    "farmland": (
        _S("完成项目初步设计批复", "以{unit}出具的初步设计批复文件为准", "县农业农村局", 1, False, "signed"),
        _S("完成项目招标", "以中标通知书及施工合同为准", LEAD),
        _S("进场施工", "以开工令及现场照片为准", LEAD, 2, True, "started"),
        _S("完成田块整治", "以监理单位分项验收记录为准", LEAD, 1, False, "building"),
        _S("完成灌排渠系建设", "以监理单位分项验收记录及通水试验记录为准", LEAD, 2),
        _S("完成田间道路建设", "以监理单位分项验收记录为准", LEAD),
        _S("完成农田输配电工程", "以供电企业出具的验收意见为准", CO),
        _S("完成耕地质量提升", "以耕地质量检测报告为准", "县农业农村局"),
        _S("完成农资统购及社会化服务对接", "以签订的服务协议为准", CO),
        _S("完成县级初验", "以县级初验报告为准", "县农业农村局", 2, True, "completed"),
        _S("完成上图入库", "以全国农田建设综合监测监管平台上图入库信息为准", "县农业农村局", 1, False, "producing"),
        _S("完成管护移交", "以管护移交协议为准", SITE, 1, False, "performing"),
    ),
    "campaign": (
        _S("印发年度工作方案", "以正式印发的工作方案文件为准", LEAD, 1, False, "started"),
        _S("召开动员部署会", "以会议通知、会议纪要及现场照片为准", LEAD),
        _S("完成测评点位梳理建档", "以点位台账（含责任单位、责任人）为准", LEAD),
        _S("完成第一轮问题排查交办", "以问题清单及交办单为准", LEAD),
        _S("完成责任点位问题整改", "以整改前后对比照片及销号台账为准", CO, 2),
        _S("完成公益广告及宣传氛围营造", "以点位宣传品设置台账及照片为准", CO),
        _S("开展志愿服务集中行动", "以志愿服务信息平台活动记录为准", CO),
        _S("完成重点区域环境综合整治", "以联合验收记录为准", CO, 2, False, "building"),
        _S("完成年中自查自评", "以自查报告及问题清单为准", LEAD, 1, True),
        _S("完成第二轮问题排查交办", "以问题清单及交办单为准", LEAD),
        _S("完成台账资料分类归档", "以归档资料目录为准", CO),
        _S("完成第三方模拟测评", "以第三方模拟测评报告为准", LEAD, 2),
        _S("完成模拟测评问题整改", "以整改销号台账为准", CO, 2),
        _S("迎接上级实地测评", "以上级测评通知及迎检工作记录为准", LEAD, 3, True),
        _S("完成年度工作总结", "以报送的年度工作总结为准", LEAD, 1, False, "completed"),
    ),
    "reform": (
        _S("印发改革实施方案", "以正式印发的实施方案文件为准", LEAD, 2, True, "started"),
        _S("完成事项清单梳理", "以梳理形成并公布的事项清单为准", LEAD),
        _S("完成业务流程再造", "以再造后的流程图及办事指南为准", CO),
        _S("完成信息系统对接开发", "以系统测试报告为准", "县数据资源局"),
        _S("上线试运行", "以上线通知及首批办件记录为准", LEAD, 2, True, "building"),
        _S("完成窗口及业务人员培训", "以培训通知、签到表及现场照片为准", CO),
        _S("全面推行", "以全面推行通知及办件统计为准", LEAD, 2),
        _S("开展企业群众满意度回访", "以回访记录及满意度统计表为准", LEAD),
        _S("完成中期评估", "以中期评估报告为准", LEAD),
        _S("完成评估问题整改", "以整改台账为准", CO),
        _S("形成典型经验做法", "以报送市级的典型案例材料为准", LEAD),
        _S("完成年度改革总结评估", "以年度评估报告为准", LEAD, 1, True, "completed"),
    ),
    "service": (
        _S("印发年度实施方案", "以正式印发的实施方案文件为准", LEAD, 1, False, "started"),
        _S("下达年度资金", "以{unit}资金下达文件为准", "县财政局"),
        _S("完成服务对象摸底建档", "以摸底台账及系统录入信息为准", CO),
        _S("完成政策宣传进村（社区）", "以宣传活动记录及现场照片为准", CO),
        _S("完成服务采购", "以政府采购合同为准", LEAD, 1, False, "building"),
        _S("完成年中绩效自评", "以绩效自评报告为准", LEAD, 1, True),
        _S("完成民生工程年中督查问题整改", "以整改台账为准", CO),
        _S("完成资金拨付", "以国库集中支付凭证为准", "县财政局"),
        _S("完成群众满意度测评", "以第三方满意度测评报告为准", LEAD),
        _S("完成年度目标任务", "以省民生工程管理系统填报数据为准", LEAD, 3, True, "completed"),
    ),
}
# The whole track is this year's plan for these; construction projects take a slice.
MATTER_TRACKS = ("campaign", "reform", "service")

# Recurring nodes: (title template, standard, who, months). {m} month, {q}
# quarter, {amount} cumulative investment in 万元, {pct} share of the year.
RECURRING: dict[str, tuple[str, str, str, tuple[int, ...]]] = {
    "invest": (
        "完成{m}月份投资任务（累计{amount}万元）",
        "以县发改委重点项目投资调度台账及支付凭证为准",
        LEAD,
        tuple(range(1, 13)),
    ),
    "campaign": (
        "完成{m}月份测评点位问题整改销号",
        "以文明创建管理平台问题整改销号记录为准",
        CO,
        tuple(range(2, 13)),
    ),
    "reform": (
        "报送第{q}季度改革进展及办件数据",
        "以报送县委改革办的季度报告及统计表为准",
        LEAD,
        (3, 6, 9, 12),
    ),
    "service": (
        "完成{m}月份目标任务（进度{pct}%）",
        "以省民生工程管理系统月报数据为准",
        LEAD,
        tuple(range(1, 13)),
    ),
}
RECURRING_FOR_TRACK = {
    "plant": "invest", "infra": "invest", "building": "invest", "rural": "invest",
    "farmland": "invest", "campaign": "campaign", "reform": "reform", "service": "service",
}


class ProjectSpec(NamedTuple):
    """A project of the year: what it is, who leads it, where it is built."""

    name: str  # may contain {year}
    category: str
    track: str
    lead: str  # unit short name
    site: str  # unit short name: where the project is built
    co: tuple[str, ...]  # further co-units (联动督办)
    investment: tuple[int, int]  # total in 万元, low .. high
    theme: str | None = None  # default: the category's


_P = ProjectSpec
PROJECTS: tuple[ProjectSpec, ...] = (
    # 产业项目
    _P("新能源整车配套产业园一期", "产业项目", "plant", "经开区", "经开区", ("县经信局",), (200000, 500000)),
    _P("动力电池PACK生产线项目", "产业项目", "plant", "经开区", "经开区", (), (80000, 200000)),
    _P("年产20GW高效光伏组件项目", "产业项目", "plant", "高新区", "高新区", ("县经信局",), (150000, 400000)),
    _P("高端装备制造产业园二期", "产业项目", "plant", "经开区", "经开区", (), (60000, 150000)),
    _P("半导体封装测试基地", "产业项目", "plant", "高新区", "高新区", ("县投促中心",), (100000, 300000)),
    _P("生物医药中试基地", "产业项目", "plant", "高新区", "高新区", (), (50000, 120000)),
    _P("智能家电核心零部件扩产项目", "产业项目", "plant", "白石工业园", "白石工业园", (), (50000, 90000)),
    _P("年产5万吨功能性新材料项目", "产业项目", "plant", "白石工业园", "白石镇", (), (60000, 150000)),
    _P("预制菜产业园", "产业项目", "plant", "农业产业园", "农业产业园", ("县农业农村局",), (50000, 100000)),
    _P("冷链物流仓储中心", "产业项目", "plant", "县商务局", "双河镇", ("县供销社",), (50000, 80000)),
    _P("新型储能电站项目", "产业项目", "plant", "县发改委", "梅岭镇", (), (60000, 160000)),
    _P("汽车零部件智能工厂", "产业项目", "plant", "经开区", "经开区", (), (50000, 120000)),
    _P("高标准厂房三期", "产业项目", "building", "县产投集团", "经开区", ("经开区",), (50000, 90000)),
    _P("智能传感器产业园", "产业项目", "plant", "高新区", "高新区", ("县投促中心",), (80000, 200000)),
    _P("绿色建材产业基地", "产业项目", "plant", "白石工业园", "白石镇", (), (50000, 100000)),
    _P("梅岭文旅康养综合体", "产业项目", "building", "县文旅集团", "梅岭镇", ("县文旅局",), (50000, 150000)),
    # 城市建设
    _P("老城区雨污分流管网改造", "城市建设", "infra", "县住建局", "清溪镇", ("县水务集团",), (20000, 60000)),
    _P("城南片区路网建设（一期）", "城市建设", "infra", "县城投集团", "清溪镇", ("县重点局",), (30000, 90000)),
    _P("清溪大道综合整治提升", "城市建设", "infra", "县住建局", "清溪镇", ("县城管局",), (10000, 30000)),
    _P("{year}年城镇老旧小区改造", "城市建设", "infra", "县住建局", "清溪镇", ("县城投集团",), (8000, 25000)),
    _P("城市生命线安全工程", "城市建设", "infra", "县城管局", "清溪镇", ("县应急局",), (15000, 40000)),
    _P("滨河公园及绿道建设", "城市建设", "infra", "县城管局", "青山镇", ("县水务局",), (8000, 25000)),
    _P("城区公共停车场及充电设施建设", "城市建设", "infra", "县交投公司", "清溪镇", ("县城管局",), (6000, 20000)),
    _P("城东保障性租赁住房项目", "城市建设", "building", "县城投集团", "青山镇", ("青山镇",), (30000, 80000)),
    _P("清溪过境公路改建工程", "城市建设", "infra", "县交通局", "龙泉镇", ("县交投公司",), (50000, 150000)),
    _P("城区易涝积水点整治", "城市建设", "infra", "县水务局", "清溪镇", ("县城管局",), (5000, 15000)),
    _P("城西污水处理厂提标扩建", "城市建设", "building", "县水务集团", "青山镇", ("县生态环境分局",), (20000, 50000)),
    _P("县人民医院新院区建设", "城市建设", "building", "县卫健委", "清溪镇", ("县重点局",), (80000, 200000)),
    _P("城北棚户区改造安置房", "城市建设", "building", "县城投集团", "清溪镇", ("清溪镇",), (40000, 120000)),
    _P("环城北路快速化改造", "城市建设", "infra", "县交投公司", "青山镇", ("县交通局",), (30000, 80000)),
    _P("智慧城市运营管理中心", "城市建设", "building", "县数据资源局", "清溪镇", ("县重点局",), (8000, 20000)),
    _P("青山大道东延工程", "城市建设", "infra", "县重点局", "青山镇", ("县交投公司",), (15000, 40000)),
    # 乡村振兴
    _P("集贤路乡村振兴示范带", "乡村振兴", "rural", "青山镇", "青山镇", ("县农业农村局", "县文旅局"), (3000, 12000)),
    _P("{year}年高标准农田建设", "乡村振兴", "farmland", "县农业农村局", "龙泉镇", ("杨柳镇", "凤鸣镇"), (8000, 20000)),
    _P("石桥村和美乡村精品示范村", "乡村振兴", "rural", "白石镇", "白石镇", ("县农经中心",), (1500, 5000)),
    _P("农村人居环境整治提升", "乡村振兴", "rural", "县农业农村局", "双河镇", ("县城管局", "石门乡"), (2000, 8000)),
    _P("龙泉镇万亩稻虾共作基地", "乡村振兴", "farmland", "龙泉镇", "龙泉镇", ("县供销社",), (3000, 10000)),
    _P("农村公路提质改造", "乡村振兴", "infra", "县交通局", "石门乡", ("云溪乡",), (5000, 20000)),
    _P("梅岭茶产业振兴项目", "乡村振兴", "rural", "梅岭镇", "梅岭镇", ("县供销社", "县农业农村局"), (2000, 6000)),
    _P("双杨乡村旅游环线", "乡村振兴", "rural", "县文旅局", "杨柳镇", ("双河镇", "县文旅集团"), (3000, 10000)),
    _P("蔬菜保供基地建设", "乡村振兴", "farmland", "杨柳镇", "杨柳镇", ("县供销社",), (1500, 4000)),
    _P("农村生活污水治理提升", "乡村振兴", "rural", "县生态环境分局", "云溪乡", ("县水务集团",), (2000, 8000)),
    _P("青山镇美丽宜居村庄连片建设", "乡村振兴", "rural", "青山镇", "青山镇", ("县农经中心",), (1500, 5000)),
    _P("林长制改革示范区建设", "乡村振兴", "rural", "县林业局", "花园乡", ("县农经中心",), (1000, 3000)),
    _P("凤鸣镇数字乡村试点", "乡村振兴", "rural", "凤鸣镇", "凤鸣镇", ("县数据资源局",), (800, 2500)),
    _P("村级集体经济强村工程", "乡村振兴", "rural", "县委组织部", "金桥镇", ("县农经中心", "金桥镇"), (800, 2000)),
    # 文明创建
    _P("全国文明城市创建迎检", "文明创建", "campaign", "县委宣传部", "清溪镇",
       ("县城管局", "县市场监管局", "清溪镇", "县公安局", "青山镇"), (1000, 3000), "城乡发展"),
    _P("国家卫生县城复审", "文明创建", "campaign", "县卫健委", "清溪镇",
       ("县城管局", "县市场监管局", "清溪镇"), (500, 1500)),
    _P("新时代文明实践中心（所、站）提质", "文明创建", "campaign", "县委宣传部", "清溪镇",
       ("青山镇", "龙泉镇", "石门乡"), (300, 800)),
    _P("背街小巷环境整治", "文明创建", "campaign", "县城管局", "清溪镇", ("清溪镇", "青山镇"), (1000, 3000), "城乡发展"),
    _P("农贸市场标准化改造", "文明创建", "campaign", "县市场监管局", "清溪镇", ("清溪镇", "双河镇"), (800, 2500)),
    _P("交通秩序文明劝导专项行动", "文明创建", "campaign", "县公安局", "清溪镇", ("县交通局", "县城管局"), (100, 300)),
    _P("文明村镇创建", "文明创建", "campaign", "县委宣传部", "梅岭镇",
       ("梅岭镇", "杨柳镇", "花园乡", "县农业农村局"), (200, 600)),
    _P("移风易俗专项治理", "文明创建", "campaign", "县民政局", "云溪乡", ("云溪乡", "金桥镇", "凤鸣镇"), (50, 200)),
    _P("校园周边环境综合治理", "文明创建", "campaign", "县教体局", "清溪镇", ("县公安局", "县市场监管局"), (100, 400)),
    # 为企为民
    _P("企业服务“一件事”集成改革", "为企为民", "reform", "县数据资源局", "清溪镇",
       ("县政务服务局", "县市场监管局"), (300, 1200)),
    _P("工程建设项目审批制度改革", "为企为民", "reform", "县政务服务局", "清溪镇",
       ("县住建局", "县自然资源规划局"), (100, 500)),
    _P("“亩均论英雄”改革", "为企为民", "reform", "县经信局", "清溪镇",
       ("县统计局", "县税务局", "县自然资源规划局"), (200, 800), "产业创新"),
    _P("园区低效用地再开发", "为企为民", "reform", "县自然资源规划局", "经开区",
       ("经开区", "高新区", "白石工业园"), (5000, 20000), "产业创新"),
    _P("惠企政策“免申即享”", "为企为民", "reform", "县财政局", "清溪镇", ("县经信局", "县税务局"), (100, 300)),
    _P("重点企业用工保障", "为企为民", "reform", "县人社局", "清溪镇", ("经开区", "高新区"), (100, 500)),
    _P("12345热线办理质效提升", "为企为民", "reform", "县政务服务局", "清溪镇", ("县信访局",), (50, 200)),
    _P("营商环境评价问题整改", "为企为民", "reform", "县发改委", "清溪镇",
       ("县政务服务局", "县市场监管局", "县税务局"), (50, 200)),
    _P("首席服务官包联企业", "为企为民", "reform", "县经信局", "清溪镇", ("县投促中心", "经开区"), (50, 200), "产业创新"),
    _P("不动产登记“交房即交证”", "为企为民", "reform", "县自然资源规划局", "清溪镇", ("县住建局", "县税务局"), (50, 200)),
    _P("招商引资“双招双引”攻坚", "为企为民", "reform", "县投促中心", "清溪镇",
       ("县商务局", "经开区", "高新区"), (200, 500), "产业创新"),
    _P("矛盾纠纷多元化解“一站式”改革", "为企为民", "reform", "县委政法委", "清溪镇",
       ("县信访局", "县公安局"), (100, 300)),
    # 民生工程
    _P("城乡供水一体化二期", "民生工程", "infra", "县水务局", "龙泉镇", ("县水务集团",), (20000, 60000)),
    _P("县第三中学新建工程", "民生工程", "building", "县教体局", "青山镇", ("青山镇",), (30000, 60000)),
    _P("公办幼儿园扩容工程", "民生工程", "building", "县教体局", "双河镇", ("双河镇",), (5000, 12000)),
    _P("紧密型县域医共体建设", "民生工程", "service", "县卫健委", "清溪镇", ("县医保局", "金桥镇"), (2000, 6000)),
    _P("县社会福利中心（养老服务综合体）", "民生工程", "building", "县民政局", "清溪镇", ("清溪镇",), (8000, 20000)),
    _P("农村低收入群体住房安全保障", "民生工程", "service", "县住建局", "石门乡",
       ("石门乡", "云溪乡", "花园乡"), (500, 2000)),
    _P("零工市场建设", "民生工程", "service", "县人社局", "清溪镇", ("清溪镇", "经开区"), (200, 800)),
    _P("困难群众救助提标", "民生工程", "service", "县民政局", "清溪镇", ("县医保局", "凤鸣镇"), (3000, 8000)),
    _P("乡镇卫生院能力提升", "民生工程", "building", "县卫健委", "金桥镇", ("金桥镇",), (2000, 6000)),
    _P("城乡公交一体化", "民生工程", "service", "县交通局", "清溪镇", ("县交投公司", "杨柳镇"), (1000, 5000)),
    _P("老年助餐服务点建设", "民生工程", "service", "县民政局", "清溪镇", ("清溪镇", "青山镇"), (300, 1000)),
    _P("城乡应急避难场所建设", "民生工程", "building", "县应急局", "凤鸣镇", ("凤鸣镇",), (1000, 4000)),
)

DESCRIPTIONS: dict[str, str] = {
    "plant": "项目总投资{yi}亿元，规划用地约{mu}亩，新建标准化厂房及配套设施约{area}万平方米，"
    "达产后预计年产值{output}亿元、年税收{tax}亿元。",
    "infra": "项目总投资{yi}亿元，建设内容包括道路、雨污管网、照明、绿化等，全长约{km}公里。",
    "building": "项目总投资{yi}亿元，总建筑面积约{area}万平方米，计划{end}年建成投用。",
    "rural": "项目总投资{wan}万元，覆盖{villages}个行政村，实施道路、污水、风貌改造及产业配套工程。",
    "farmland": "项目总投资{wan}万元，建设高标准农田{mu}亩，配套灌排渠系、田间道路和输配电设施。",
    "campaign": "年度工作经费{wan}万元，建立{points}个责任点位常态化排查整改机制，按月交办、按月销号。",
    "reform": "年度改革经费{wan}万元，聚焦企业群众反映强烈的堵点难点，推动{items}项事项集成办理。",
    "service": "年度资金{wan}万元，惠及群众约{people}人，纳入省民生工程考核。",
}

# --------------------------------------------------------------------------
# What happened to the nodes
# --------------------------------------------------------------------------

OPEN = "open"  # not due yet, not submitted
ON_TIME = "on_time"  # submitted on or before the deadline (green once verified)
REVIEW = "review"  # submitted on time, still waiting for sign-off
LATE = "late"  # submitted within the re-commitment grace period: yellow
LATE_RECOMMIT = "late_recommit"  # yellow, approved new date, met it
YELLOW_OPEN = "yellow_open"  # just overdue, nothing filed yet
YELLOW_PENDING = "yellow_pending"  # overdue, re-commitment waiting for the leader
YELLOW_REJECTED = "yellow_rejected"  # overdue, re-commitment rejected
YELLOW_RECOMMITTED = "yellow_recommitted"  # approved new date still ahead
RED_OPEN = "red_open"  # missed the re-committed date, still open: key supervision
RED_DONE = "red_done"  # missed the re-committed date, finished since

# (scenario, least days overdue, most days overdue, probability) for a node
# whose deadline has passed; whatever is left is ON_TIME. The rates follow
# the field reports: ~96 % of due nodes closed, most of them on time.
PAST_DUE_ODDS: tuple[tuple[str, int, int, float], ...] = (
    (YELLOW_OPEN, 1, 5, 0.15),
    (YELLOW_PENDING, 2, 5, 0.20),
    (YELLOW_REJECTED, 3, 5, 0.05),
    (YELLOW_RECOMMITTED, 4, 30, 0.05),
    (RED_OPEN, 14, 150, 0.015),
    (RED_DONE, 16, 366, 0.012),
    (LATE_RECOMMIT, 12, 366, 0.02),
    (LATE, 2, 366, 0.03),
)

# Cases the demo "staff" unit's board must show, whatever the dice say:
# (scenario, deadline window as days from D).
STAFF_CASES: tuple[tuple[str, tuple[int, int]], ...] = (
    (YELLOW_OPEN, (-2, -1)),
    (YELLOW_PENDING, (-4, -2)),
    (YELLOW_REJECTED, (-5, -3)),
    (YELLOW_RECOMMITTED, (-20, -6)),
    (RED_OPEN, (-50, -20)),
    (RED_DONE, (-90, -40)),
    (LATE, (-60, -10)),
    (REVIEW, (-1, 5)),
    (REVIEW, (0, 8)),
    (OPEN, (1, 3)),
    (OPEN, (1, 3)),
)

RECOMMIT_REASONS = (
    "受连续降雨影响，室外施工无法正常开展，申请顺延。",
    "前置审批要件尚未取得，需待批复后推进。",
    "征迁过程中仍有3户未签订协议，正在做群众工作。",
    "设计方案调整，需重新组织专家评审。",
    "招标过程中收到投诉，按规定暂停后重新组织。",
    "企业资金到位滞后，已协调金融机构加快放款。",
    "涉及电力线路迁改，需供电公司排期配合实施。",
    "上级系统接口调整，联调测试需重新安排。",
)
APPROVE_COMMENTS = (
    "同意，请严格按新承诺时限完成，不得再次超期。",
    "同意，请牵头单位加强调度，每周报送进展。",
    "同意，请同步做好要素保障。",
)
REJECT_COMMENTS = (
    "理由不充分，请按原计划加快推进。",
    "新承诺时限过长，请压缩工期后重新申报。",
)
PROGRESS_TEXTS: tuple[tuple[int, tuple[str, ...]], ...] = (  # (up to percent, texts)
    (35, (
        "已召开专题推进会，明确任务分工和时间节点。",
        "已完成前期资料收集，正在编制相关材料。",
        "已与相关部门对接，协调前置要件办理。",
    )),
    (70, (
        "相关材料已报送审批部门，正在审查中。",
        "现场施工有序推进，已完成工程量约{percent}%。",
        "牵头领导现场调度，推进中的问题已明确解决路径。",
        "受天气影响进度略有滞后，已增加作业班组抢抓进度。",
    )),
    (100, (
        "主要工作已基本完成，正在整理销号材料。",
        "已完成内部初验，待提交销号。",
        "剩余收尾工作正在加紧推进，完成约{percent}%。",
    )),
)
SUBMISSION_NOTE = "已按销号标准完成，相关材料已上传，请审核销号。"
GREEN_REASON = "按期完成，审核销号"
INTERVIEW_PLACE = "县委县政府督查室会议室"
INTERVIEW_BRING = "超期情况说明、整改方案及责任人名单"
INTERVIEW_MINUTES = "约谈对象就节点超期原因作出说明，明确了整改措施和完成时限，督查室跟踪问效。"
RECENT_INTERVIEW_DAYS = 21  # interviews proposed this recently are not yet scheduled

# Local times of day for the events of a node's life.
SWEEP_AT = time(1, 0)  # the daily sweep issues yellow and red cards


# --------------------------------------------------------------------------
# The summary
# --------------------------------------------------------------------------


@dataclass
class DemoSummary:
    """What ``build`` made: the figures the CLI prints."""

    today: date
    leagues: int = 0
    units: int = 0
    users: int = 0
    projects: int = 0
    nodes: int = 0
    nodes_by_status: Counter = field(default_factory=Counter)
    nodes_by_card: Counter = field(default_factory=Counter)
    cards_by_colour: Counter = field(default_factory=Counter)
    recommitments: Counter = field(default_factory=Counter)
    interviews: Counter = field(default_factory=Counter)
    progress_entries: int = 0
    accounts: tuple[Account, ...] = ACCOUNTS

    def describe(self) -> str:
        """Multi-line text: the figures, then the demo accounts."""

        def counts(counter: Counter, keys: Iterable[str]) -> str:
            return " · ".join(f"{key} {counter.get(key, 0):,}" for key in keys)

        lines = [
            f"Demo county {COUNTY}, year {self.today.year}, as of {self.today.isoformat()}",
            f"  leagues {self.leagues} · units {self.units} · users {self.users:,} · "
            f"projects {self.projects}",
            f"  nodes {self.nodes:,}: {counts(self.nodes_by_status, ('todo', 'doing', 'review', 'done'))}",
            f"  node cards: {counts(self.nodes_by_card, ('none', 'green', 'yellow', 'red'))}",
            f"  card events: {counts(self.cards_by_colour, ('green', 'yellow', 'red'))}",
            f"  re-commitments: {counts(self.recommitments, ('approved', 'pending', 'rejected'))}",
            f"  interviews: {counts(self.interviews, ('proposed', 'scheduled', 'held'))}",
            f"  progress entries {self.progress_entries:,}",
            f"Demo accounts (password: {DEMO_PASSWORD}):",
        ]
        width = max(len(a.username) for a in self.accounts)
        for account in self.accounts:
            lines.append(
                f"  {account.username:<{width}}  {account.role:<10}  "
                f"{account.display_name}，{account.unit}{account.title}"
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------
# Public interface
# --------------------------------------------------------------------------


def has_data() -> bool:
    """True if the database holds any unit, user or project."""
    return any(
        db.session.scalar(select(model.id).limit(1)) is not None for model in (Unit, User, Project)
    )


AUDIT_GUARDS_SQLITE = {
    name: (
        f"CREATE TRIGGER {name} BEFORE {verb} ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
    )
    for name, verb in (("audit_entry_no_update", "UPDATE"), ("audit_entry_no_delete", "DELETE"))
}


def erase() -> None:
    """Delete every row of every table; the schema and ``alembic_version`` stay.

    The audit log's append-only triggers are side-stepped, not removed:
    PostgreSQL's TRUNCATE fires no row triggers, and on SQLite the triggers
    are dropped and re-created inside the same transaction, so a failure
    rolls them back with everything else. The caller commits.
    """
    tables = list(reversed(Base.metadata.sorted_tables))  # children first
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        names = ", ".join(dialect.identifier_preparer.format_table(t) for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        audit_table = Base.metadata.tables["audit_entry"]
        others = [t for t in tables if t is not audit_table]
        # A DELETE opens the transaction first: pysqlite then runs the DDL
        # below inside it instead of committing it on its own.
        db.session.execute(others[0].delete())
        for name in AUDIT_GUARDS_SQLITE:
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        db.session.execute(audit_table.delete())
        for table in others[1:]:
            db.session.execute(table.delete())
        for sql in AUDIT_GUARDS_SQLITE.values():
            db.session.execute(text(sql))
    db.session.expunge_all()


def build(today: date) -> DemoSummary:
    """Add the demo county as of ``today`` to the session and flush; the caller commits."""
    return _CountyBuilder(today).build()


# --------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _add_workdays(day: date, count: int) -> date:
    """The Monday-to-Friday day ``count`` working days after ``day``."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def _money(value: float) -> Decimal:
    """An amount in 万元, rounded to the whole 万元 as ledgers show it."""
    return Decimal(round(value)).quantize(Decimal("0.01"))


class _NodeLife(NamedTuple):
    """The days a node's story happens on (None: it did not happen)."""

    submitted: date | None = None
    closed: date | None = None
    committed: date | None = None  # the approved re-committed deadline
    decided: date | None = None  # the day that re-commitment was approved


class _ProjectPlan(NamedTuple):
    """What settling a project's stage and dates needs to know."""

    initial: str  # the stage at the start of the year
    reaches: dict[str, str]  # node title -> stage reached when it is done
    starts_this_year: bool


class _CountyBuilder:
    """Builds the county in one pass; holds the dice and the lookups."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.year = today.year
        self.year_start = date(self.year, 1, 1)
        self.last_day = today - timedelta(days=1)  # the latest day anything happened on
        self.rng = random.Random(SEED)
        self.clock = Clock(current_app.config.get("JIEDIAN_TZ") or "Asia/Shanghai")
        # The year's plan was set up in late December (节点设立).
        self.plan_day = date(self.year - 1, 12, 20)
        self.summary = DemoSummary(today=today)
        self.used_names: set[str] = {a.display_name for a in ACCOUNTS} | {ld[1] for ld in LEADERS}
        self.units: dict[str, Unit] = {}
        self.staff: dict[str, list[User]] = {}
        self.leader_of: dict[str, User] = {}
        self.accounts: dict[str, User] = {}
        self.supervisors: list[User] = []
        self.nodes: list[Node] = []
        self.rows: list[object] = []  # everything else to add
        self.contact_projects: list[Project] = []
        self.greens: list[tuple[Node, date, User]] = []
        self.plans: dict[Project, _ProjectPlan] = {}

    # -- helpers -----------------------------------------------------------
    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A county-local time of day as an aware UTC datetime."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.clock.tz).astimezone(UTC)

    def at_random(self, day: date, first_hour: int, last_hour: int) -> datetime:
        return self.at(day, self.rng.randint(first_hour, last_hour), self.rng.randrange(0, 60, 5))

    def person(self) -> str:
        """A new plausible Chinese name, unique in the county."""
        while True:
            given = "".join(self.rng.sample(GIVEN, 2 if self.rng.random() < 0.7 else 1))
            name = self.rng.choice(SURNAMES) + given
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    # -- organisation --------------------------------------------------------
    def build_org(self) -> None:
        plan_at = self.at(self.plan_day, 9)
        # scrypt is slow on purpose: hash each password once and share the
        # string. Generated people never log in; their password is unknown.
        unusable = generate_password_hash(secrets.token_urlsafe(), method="scrypt")
        demo_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
        sort = 0
        for name in (OFFICE, GOVERNMENT):  # not ranked: no league
            sort += 1
            self.units[name] = Unit(name=name, short_name=name, head_name=self.person(), sort_order=sort)
        kinds: dict[str, str] = {}
        leagues = []
        for order, spec in enumerate(LEAGUES, start=1):
            league = League(name=spec.name, description=spec.description, sort_order=order)
            leagues.append(league)
            for unit_name, short in spec.units:
                sort += 1
                self.units[short] = Unit(
                    name=unit_name, short_name=short, league=league, head_name=self.person(), sort_order=sort
                )
                kinds[short] = spec.kind
        self.rows.extend(leagues)
        self.rows.extend(self.units.values())
        self.summary.leagues = len(leagues)
        self.summary.units = len(self.units)

        users: list[User] = []

        def user(username: str, name: str, title: str, unit: Unit, roles: Sequence[str], pw: str) -> User:
            account = User(
                username=username, display_name=name, title=title, unit=unit,
                password_hash=pw, created_at=plan_at,
            )
            account.roles = roles
            users.append(account)
            return account

        for account in ACCOUNTS:
            self.accounts[account.username] = user(
                account.username, account.display_name, account.title,
                self.units[account.unit], (account.role,), demo_hash,
            )
        self.supervisors = [self.accounts["supervisor"]]
        for k in range(1, EXTRA_SUPERVISORS + 1):
            self.supervisors.append(
                user(f"duchayuan-{k}", self.person(), "督查专员", self.units[OFFICE], ("supervisor",), unusable)
            )
        league_units = {spec.name: [short for _, short in spec.units] for spec in LEAGUES}
        for username, name, title, in_charge in LEADERS:
            leader = self.accounts.get(username) or user(
                username, name, title, self.units[GOVERNMENT], ("leader",), unusable
            )
            for league_name in in_charge:
                for short in league_units[league_name]:
                    leader.units_in_charge.append(self.units[short])
                    self.leader_of[short] = leader
        for number, (short, kind) in enumerate(kinds.items(), start=1):
            low, high = STAFF_PER_UNIT[kind]
            titles = STAFF_TITLES[kind]
            members = [
                user(f"u{number:02d}-{k}", self.person(), titles[k % len(titles)], self.units[short],
                     ("unit_staff",), unusable)
                for k in range(1, self.rng.randint(low, high) + 1)
            ]
            self.staff[short] = members
        staff_account = self.accounts["staff"]
        self.staff[STAFF_UNIT].insert(0, staff_account)
        self.rows.extend(users)
        self.summary.users = len(users)

    # -- categories, themes, policy -----------------------------------------------
    def build_settings(self) -> None:
        self.categories = {
            name: Category(name=name, sort_order=order) for order, (name, _, _) in enumerate(CATEGORIES, 1)
        }
        self.themes = {name: Theme(name=name, sort_order=order) for order, name in enumerate(THEMES, 1)}
        self.policy = ScoringPolicy(
            effective_from=self.year_start,
            note="演示数据：默认计分规则",
            created_at=self.at(self.plan_day, 9),
        )
        self.rows.extend([*self.categories.values(), *self.themes.values(), self.policy])

    # -- projects and their node plans ---------------------------------------------
    def build_projects(self) -> list[Project]:
        serials: Counter = Counter()
        abbreviations = {name: abbr for name, abbr, _ in CATEGORIES}
        default_theme = {name: theme for name, _, theme in CATEGORIES}
        projects = []
        for spec in PROJECTS:
            serials[spec.category] += 1
            code = f"{self.year}-{abbreviations[spec.category]}-{serials[spec.category]:03d}"
            project = self.plan_project(spec, code, self.themes[spec.theme or default_theme[spec.category]])
            projects.append(project)
        contact = self.accounts["contact"]
        for project in projects:
            if project.lead_unit.short_name == CONTACT_PROJECT_LEAD:
                project.contacts.append(contact)
                self.contact_projects.append(project)
        self.rows.extend(projects)
        self.summary.projects = len(projects)
        return projects

    def plan_project(self, spec: ProjectSpec, code: str, theme: Theme) -> Project:
        rng = self.rng
        track = TRACKS[spec.track]
        if spec.track in MATTER_TRACKS:
            first = 0
            steps = list(track)
        else:
            first = rng.randint(0, max(0, len(track) - 12))
            steps = list(track[first:first + rng.randint(11, 16)])
        initial = next((s.reaches for s in reversed(track[:first]) if s.reaches), "signed")
        lead = self.units[spec.lead]
        total = rng.uniform(*spec.investment)
        planned = total * (1.0 if spec.track in MATTER_TRACKS else rng.uniform(0.15, 0.45))
        created = self.at(self.plan_day - timedelta(days=rng.randint(0, 12)), rng.randint(9, 17))
        project = Project(
            code=code,
            name=spec.name.format(year=self.year),
            category=self.categories[spec.category],
            theme=theme,
            year=self.year,
            lead_unit=lead,
            lead_leader=self.leader_of[spec.lead],
            stage=initial,
            investment_total=_money(total),
            investment_planned=_money(planned),
            description=self.describe_project(spec, total),
            created_at=created,
            updated_at=created,
        )
        self.schedule(project, steps, spec)
        self.plans[project] = _ProjectPlan(
            initial, {s.title: s.reaches for s in steps if s.reaches}, first == 0
        )
        co_units = dict.fromkeys(
            n.unit.short_name for n in project.nodes if n.unit is not lead
        )
        co_units.update(dict.fromkeys(s for s in spec.co if s != spec.lead))
        project.co_units = [self.units[s] for s in co_units]
        project.investment_completed = _money(planned * min(1.0, self.elapsed() * rng.uniform(0.85, 1.12)))
        return project

    def elapsed(self) -> float:
        """The share of the year gone by D."""
        days = 366 if calendar.isleap(self.year) else 365
        return (self.today - self.year_start).days / days

    def describe_project(self, spec: ProjectSpec, total: float) -> str:
        rng = self.rng
        return DESCRIPTIONS[spec.track].format(
            yi=f"{total / 10000:.1f}",
            wan=f"{total:,.0f}",
            mu=rng.randrange(80, 1200, 10),
            area=f"{rng.uniform(1.5, 25):.1f}",
            output=f"{total / 10000 * rng.uniform(1.2, 2.5):.1f}",
            tax=f"{total / 10000 * rng.uniform(0.05, 0.12):.2f}",
            km=f"{rng.uniform(1.2, 12):.1f}",
            end=self.year + rng.randint(0, 2),
            villages=rng.randint(3, 12),
            points=rng.randint(120, 480),
            items=rng.randint(12, 60),
            people=rng.randrange(2000, 60000, 100),
        )

    def schedule(self, project: Project, steps: list[Step], spec: ProjectSpec) -> None:
        """Create the project's nodes with deadlines spread over the year."""
        rng = self.rng
        lead = project.lead_unit
        co_cycle = [self.units[s] for s in spec.co if s != spec.lead] or [lead]
        planned = float(project.investment_planned)
        co_turn = 0

        def responsible(who: str) -> Unit:
            nonlocal co_turn
            if who == LEAD:
                return lead
            if who == SITE:
                return self.units[spec.site]
            if who == CO:
                co_turn += 1
                return co_cycle[(co_turn - 1) % len(co_cycle)]
            return self.units[who]

        span_start, span_end = date(self.year, 1, 12), date(self.year, 12, 22)
        span = (span_end - span_start).days
        gap = span / len(steps)
        plan: list[tuple[str, str, Unit, int, bool, date]] = []
        for i, step in enumerate(steps):
            offset = (i + 0.5) * gap + rng.uniform(-gap / 3, gap / 3)
            deadline = _weekday_on_or_before(span_start + timedelta(days=round(offset)))
            plan.append((step.title, step.standard, responsible(step.who), step.weight, step.is_major, deadline))
        title, standard, who, months = RECURRING[RECURRING_FOR_TRACK[spec.track]]
        day_of_month = rng.choice((20, 25, 28, 0))  # 0: the month's last day
        for month in months:
            share = month / 12
            deadline = _weekday_on_or_before(
                date(self.year, month, day_of_month) if day_of_month else _month_end(self.year, month)
            )
            plan.append((
                title.format(m=month, q=(month + 2) // 3, amount=f"{planned * share:,.0f}",
                             pct=round(share * 100)),
                standard, responsible(who), 1, False, deadline,
            ))
        owners: dict[Unit, User] = {}  # who usually answers for a unit's nodes here
        for title_text, standard_text, unit, weight, is_major, deadline in plan:
            people = self.staff[unit.short_name]
            if unit not in owners:
                owners[unit] = rng.choice(people)
            person = owners[unit]
            if unit.short_name == STAFF_UNIT and rng.random() < 0.6:
                person = self.accounts["staff"]
            elif rng.random() < 0.25:
                person = rng.choice(people)
            node = Node(
                project=project,
                title=title_text,
                unit=unit,
                responsible_user=person,
                deadline=deadline,
                standard=standard_text.format(unit=unit.name),
                weight=weight,
                is_major=is_major,
                created_at=project.created_at,
                updated_at=project.created_at,
            )
            self.nodes.append(node)

    # -- what happened by D ------------------------------------------------
    def pick_scenario(self, deadline: date) -> str:
        overdue = (self.today - deadline).days
        if overdue <= 0:
            ahead = -overdue
            chance = 0.12 if ahead <= 15 else 0.04 if ahead <= 45 else 0.0
            return ON_TIME if self.rng.random() < chance else OPEN
        roll = self.rng.random()
        for scenario, least, most, probability in PAST_DUE_ODDS:
            if least <= overdue <= most:
                if roll < probability:
                    return scenario
                roll -= probability
        return ON_TIME

    def force_staff_cases(self) -> dict[Node, str]:
        """Move a few of the staff unit's nodes so its board shows every case."""
        staff_unit = self.units[STAFF_UNIT]
        candidates = [n for n in self.nodes if n.unit is staff_unit]
        forced: dict[Node, str] = {}
        for scenario, (low, high) in STAFF_CASES:
            first = max(self.today + timedelta(days=low), self.year_start)
            last = min(self.today + timedelta(days=high), date(self.year, 12, 31))
            if first > last:
                continue
            free = [n for n in candidates if n not in forced]
            if not free:
                break
            node = min(free, key=lambda n: abs((n.deadline - first).days) + abs((n.deadline - last).days))
            node.deadline = min(max(node.deadline, first), last)
            node.responsible_user = self.accounts["staff"]
            forced[node] = scenario
        return forced

    def live(self, node: Node, scenario: str) -> None:
        """Give a node the history of its scenario: status, card, cards, re-commitments."""
        dl = node.deadline
        life = self.story(dl, scenario)
        if life is None:  # the scenario does not fit this deadline by D
            scenario = ON_TIME if dl < self.today else OPEN
            life = self.story(dl, scenario) or _NodeLife()
        person = node.responsible_user
        latest = node.created_at
        late = scenario not in (OPEN, ON_TIME, REVIEW)
        latest = max(latest, self.recommit(node, scenario, life))
        node.committed_deadline = life.committed
        if life.submitted is not None:
            node.submitted_at = self.at_random(life.submitted, 15, 18)
            node.submitted_on = life.submitted
            node.submitted_by = person
            node.submission_note = SUBMISSION_NOTE
            latest = max(latest, node.submitted_at)
            if life.closed is not None:
                closer = self.rng.choice(self.supervisors + [self.supervisors[0]])
                node.closed_at = self.at_random(life.closed, 9, 12)
                node.closed_by = closer
                node.status = "done"
                latest = max(latest, node.closed_at)
                if not late:
                    # Signed off on time: the card service issues the green card
                    # once the node has its id (see build()).
                    self.greens.append((node, life.closed, closer))
            else:
                node.status = "review"
        else:
            node.status = self.open_status(dl, late)
        node.card = "none"  # the rules colour it: the green card at sign-off, the sweep the rest
        node.updated_at = latest
        self.progress(node, life)

    def open_status(self, deadline: date, late: bool) -> str:
        if late:
            return "doing"
        ahead = (deadline - self.today).days
        chance = 0.7 if ahead <= 14 else 0.35 if ahead <= 45 else 0.08
        return "doing" if self.rng.random() < chance else "todo"

    def close_day(self, submitted: date) -> date:
        """The working day a supervisor signs off a submission."""
        return _add_workdays(submitted, self.rng.choice((1, 1, 1, 2, 2, 3)))

    def closed_by_today(self, submitted: date) -> date | None:
        closed = self.close_day(submitted)
        return closed if closed < self.today else None

    def story(self, dl: date, scenario: str) -> _NodeLife | None:
        """The days of a scenario's events for a deadline; None when it cannot fit by D."""
        rng, last = self.rng, self.last_day
        if scenario == OPEN:
            return _NodeLife() if dl >= self.today else None
        if scenario in (ON_TIME, REVIEW):
            latest = min(dl, last)
            if scenario == REVIEW:
                earliest = max(self.year_start, last - timedelta(days=1), dl - timedelta(days=10))
            else:
                earliest = max(self.year_start, latest - timedelta(days=12))
            if latest < earliest:
                return None
            back = min((latest - earliest).days, rng.choice((0, 0, 0, 1, 1, 2, 3, 5, 8)))
            submitted = latest - timedelta(days=back)
            closed = None if scenario == REVIEW else self.closed_by_today(submitted)
            return _NodeLife(submitted, closed)
        if dl >= self.today:
            return None
        if scenario == LATE:
            latest = min(dl + timedelta(days=4), last)
            if latest <= dl:
                return None
            submitted = dl + timedelta(days=rng.randint(1, (latest - dl).days))
            return _NodeLife(submitted, self.closed_by_today(submitted))
        if scenario in (YELLOW_OPEN, YELLOW_PENDING, YELLOW_REJECTED):
            need = {YELLOW_OPEN: 0, YELLOW_PENDING: 1, YELLOW_REJECTED: 2}[scenario]
            return _NodeLife() if dl + timedelta(days=need) <= last else None
        # The rest have an approved re-commitment, decided within the grace period.
        decided = dl + timedelta(days=rng.randint(1, 4))
        if decided > last:
            return None
        if scenario == YELLOW_RECOMMITTED:
            committed = max(self.today, decided + timedelta(days=7)) + timedelta(days=rng.randint(0, 15))
            return _NodeLife(committed=committed, decided=decided)
        committed = decided + timedelta(days=rng.randint(7, 25))
        if scenario == LATE_RECOMMIT:
            latest = min(committed, last)
            if latest <= decided:
                return None
            submitted = decided + timedelta(days=rng.randint(1, (latest - decided).days))
            return _NodeLife(submitted, self.closed_by_today(submitted), committed, decided)
        # Red: the committed date passed too (RED_DONE finished afterwards).
        room = (last - decided).days - (3 if scenario == RED_DONE else 0)
        if room < 3:
            return None
        committed = decided + timedelta(days=min((committed - decided).days, room))
        if scenario == RED_OPEN:
            return _NodeLife(committed=committed, decided=decided)
        submitted = committed + timedelta(days=rng.randint(1, min(20, (last - committed).days)))
        return _NodeLife(submitted, self.closed_by_today(submitted), committed, decided)

    def recommit(self, node: Node, scenario: str, life: _NodeLife) -> datetime:
        """File the scenario's re-commitments; returns the time of the last event."""
        rng, dl = self.rng, node.deadline
        leader = self.leader_of[node.unit.short_name]
        filer = node.responsible_user
        latest = node.created_at

        def file(filed: date, new_deadline: date, state: str, decided: date | None) -> None:
            nonlocal latest
            filed_at = self.at_random(filed, 8, 11)
            row = Recommitment(
                node=node, reason=rng.choice(RECOMMIT_REASONS), new_deadline=new_deadline,
                filed_by=filer, filed_at=filed_at, state=state,
            )
            latest = max(latest, filed_at)
            if decided is not None:
                row.decided_by = leader
                row.decided_at = self.at_random(decided, 14, 17)
                row.comment = rng.choice(APPROVE_COMMENTS if state == "approved" else REJECT_COMMENTS)
                latest = max(latest, row.decided_at)
            self.rows.append(row)

        day = timedelta(days=1)
        if scenario == YELLOW_PENDING:
            filed = dl + day * rng.randint(1, max(1, (self.last_day - dl).days))
            file(filed, filed + day * rng.randint(7, 20), "pending", None)
        elif scenario == YELLOW_REJECTED:
            file(dl + day, dl + day * rng.randint(20, 40), "rejected", dl + 2 * day)
            if dl + 3 * day <= self.last_day and rng.random() < 0.5:
                file(dl + 3 * day, dl + day * rng.randint(10, 15), "pending", None)
        elif scenario == LATE and life.submitted and life.submitted >= dl + 3 * day and rng.random() < 0.5:
            file(dl + day, dl + day * rng.randint(15, 30), "rejected", dl + 2 * day)
        elif life.decided is not None and life.committed is not None:
            # Approved inside the grace period (story() drew the decision day),
            # sometimes after a first request was turned down.
            filed = dl + day
            if life.decided >= dl + 3 * day and rng.random() < 0.4:
                file(filed, life.committed + day * rng.randint(10, 20), "rejected", dl + 2 * day)
                filed = dl + 3 * day
            file(max(filed, life.decided - day * rng.randint(0, 2)), life.committed, "approved", life.decided)
        return latest

    def progress(self, node: Node, life: _NodeLife) -> None:
        """A few progress log lines on some of the nodes that have started."""
        rng = self.rng
        if node.status == "todo":
            return
        if rng.random() > (0.3 if node.status == "done" else 0.6):
            return
        end = (life.submitted - timedelta(days=1)) if life.submitted else self.last_day
        start = max(self.year_start, node.deadline - timedelta(days=40))
        if end < start:
            return
        days = sorted(rng.sample(range((end - start).days + 1), min(rng.randint(1, 3), (end - start).days + 1)))
        percent = 0
        for offset in days:
            percent = min(95, percent + rng.randint(15, 40))
            texts = next(t for ceiling, t in PROGRESS_TEXTS if percent <= ceiling)
            author = node.responsible_user
            if node.project in self.contact_projects and rng.random() < 0.5:
                author = self.accounts["contact"]
            self.rows.append(
                ProgressEntry(
                    node=node,
                    author=author,
                    body=rng.choice(texts).format(percent=percent),
                    percent=percent,
                    created_at=self.at_random(start + timedelta(days=offset), 9, 18),
                )
            )
            self.summary.progress_entries += 1

    def settle_projects(self, projects: list[Project]) -> None:
        """Each project's stage (the furthest its closed nodes reached) and its dates."""
        rng = self.rng
        for project in projects:
            plan = self.plans[project]
            stage = STAGES.index(plan.initial)
            for node in project.nodes:
                reached = plan.reaches.get(node.title)
                if node.status == "done" and reached:
                    stage = max(stage, STAGES.index(reached))
            project.stage = STAGES[stage]
            deadlines = [n.deadline for n in project.nodes]
            if plan.starts_this_year:
                project.start_date = min(deadlines)
            else:  # under way since an earlier year; long ago if already built
                years_back = 1 if plan.initial == "signed" else rng.randint(1, 2)
                project.start_date = date(self.year - years_back, rng.randint(1, 12), 1)
            end = _month_end(self.year + rng.randint(0, 2), rng.choice((6, 12)))
            project.end_date = max(end, max(deadlines))

    # -- interviews ----------------------------------------------------------
    def follow_up_interviews(self) -> None:
        """The supervisors' part: interviews the sweep proposed weeks ago were scheduled and held."""
        proposed = db.session.scalars(select(Interview).where(Interview.state == "proposed")).all()
        for interview in proposed:
            interview.created_at = self.at(interview.proposed_on, SWEEP_AT.hour, SWEEP_AT.minute)
            if (self.today - interview.proposed_on).days > RECENT_INTERVIEW_DAYS:
                self.schedule_interview(interview, interview.unit, interview.proposed_on)

    def schedule_interview(self, interview: Interview, unit: Unit, proposed_on: date) -> None:
        leader = self.leader_of[unit.short_name]
        day = _add_workdays(proposed_on, self.rng.randint(3, 6))
        interview.scheduled_for = self.at(day, 15)
        interview.place = INTERVIEW_PLACE
        interview.interviewer = leader
        interview.interviewer_name = f"{leader.display_name}（{leader.title}）"
        interview.bring = INTERVIEW_BRING
        interview.state = "scheduled"
        if day < self.today:
            interview.state = "held"
            interview.held_at = self.at(day, 16)
            interview.minutes = INTERVIEW_MINUTES

    def apply_rules(self) -> None:
        """Cards by the real rules: green at each on-time sign-off, then the sweep up to D."""
        for node, closed, closer in self.greens:
            issue_rule_card(node, "green", closed, self.policy, actor=closer, reason=GREEN_REASON)
        sweep(self.today, FixedClock(self.today, self.clock.tz.key))
        self.follow_up_interviews()
        db.session.flush()
        self.count()

    def count(self) -> None:
        """The figures of the summary, read back from what the rules made."""
        summary = self.summary
        summary.nodes_by_status = Counter(dict(db.session.execute(select(Node.status, func.count()).group_by(Node.status)).all()))
        summary.nodes_by_card = Counter(dict(db.session.execute(select(Node.card, func.count()).group_by(Node.card)).all()))
        summary.cards_by_colour = Counter(dict(db.session.execute(select(CardEvent.colour, func.count()).group_by(CardEvent.colour)).all()))
        summary.recommitments = Counter(dict(db.session.execute(select(Recommitment.state, func.count()).group_by(Recommitment.state)).all()))
        summary.interviews = Counter(dict(db.session.execute(select(Interview.state, func.count()).group_by(Interview.state)).all()))

    # -- the whole county ------------------------------------------------------
    def build(self) -> DemoSummary:
        self.build_org()
        self.build_settings()
        db.session.add_all(self.rows)
        db.session.flush()  # the policy's id goes on every card
        self.rows = []
        projects = self.build_projects()
        forced = self.force_staff_cases()
        for node in self.nodes:
            self.live(node, forced.get(node) or self.pick_scenario(node.deadline))
        self.settle_projects(projects)
        self.summary.nodes = len(self.nodes)
        db.session.add_all(self.rows)
        db.session.add_all(self.nodes)
        db.session.flush()
        self.apply_rules()
        audit.record(
            None,
            "demo.load",
            summary=(
                f"演示数据 {COUNTY}（{self.today.isoformat()}）：{self.summary.units} 个单位、"
                f"{self.summary.projects} 个项目、{self.summary.nodes} 个节点"
            ),
        )
        db.session.flush()
        return self.summary
