"""The demo county's meeting loop: a year of problems, meetings and assignments, made by the real rules.

Events run in time order, each through the services a person would use, with
a clock set to the moment it happened: a township raises a problem, its
leader in charge answers or escalates it, the weekly meeting takes up what
reached it and hands its decisions out on the spot, the units sign, report
and finish on the 13710 clocks (some late), the office verifies, the raiser
confirms. The catch-up sweep that follows (``CountyBuilder.apply_rules``)
then gives the late steps their yellow and red cards. A separate dice keeps
the rest of the county as it was.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal.assignments import services as assignments
from portal.audit import services as audit
from portal.boards import services as boards
from portal.core.clock import FixedClock
from portal.core.extensions import db
from portal.meetings import services as meetings
from portal.models import Assignment, Meeting, Problem, ProblemType, Project, Unit, User
from portal.ops.demo.data import SEED
from portal.ops.demo.history import add_workdays
from portal.problems import services as problems

SEED_OFFSET = 1410

# What units get stuck on, by problem type: (title, what is needed, from whom).
PROBLEMS = {
    "土地": [("用地指标缺口", "请调剂新增建设用地指标", "县自然资源局"), ("林地占用审批未批", "请协调林地占用手续", "县林业局")],
    "资金": [("配套资金未到位", "请拨付县级配套资金", "县财政局"), ("专项债资金拨付慢", "请加快专项债资金拨付", "县发改委")],
    "规划": [("控规调整未批复", "请尽快完成控规调整审批", "县自然资源局"), ("设计方案需调整", "请组织规划方案联审", "县住建局")],
    "手续": [("环评批复未下达", "请协调加快环评审批", "县生态环境分局"), ("施工许可办理卡壳", "请协调并联审批", "县行政审批局")],
    "征迁": [("个别户未签征迁协议", "请县征迁办协助做群众工作", "县征迁办"), ("坟墓迁移未完成", "请协调民政部门指导迁坟", "县民政局")],
    "要素保障": [("施工用电未接入", "请协调供电公司接入临时用电", "县供电公司"), ("用工短缺", "请协调人社部门组织招工", "县人社局")],
    "其他": [("周边道路堵塞影响施工", "请协调交警部门疏导交通", "县公安局交警大队")],
}
INSTRUCTIONS = [("关于加快推进重点项目开工的批示", "请各牵头单位倒排工期，确保按期开工"),
                ("关于做好安全生产检查的批示", "请全面排查在建项目安全隐患并限期整改"),
                ("关于优化营商环境的批示", "请梳理企业诉求清单，逐项销号")]
INSPECTIONS = [("市督导组反馈：项目进度滞后", "对照督导清单，制定整改措施并限期完成"),
               ("市督导组反馈：扬尘治理不到位", "落实施工现场“六个百分百”要求"),
               ("市督导组反馈：台账资料不规范", "规范节点台账，补齐佐证材料")]
MEETING_PLACE = "县政府三楼会议室"
ATTENDEES = "县直有关部门、各乡镇（园区）主要负责人、县委县政府督查室"


class Loop:
    def __init__(self, county) -> None:
        self.county = county
        self.rng = random.Random(SEED + SEED_OFFSET)  # its own dice: the county's draws stay as they were
        self.tz = county.clock.tz.key
        self.events: list = []
        self.seq = itertools.count()
        self.supervisor: User = county.accounts["supervisor"]
        self.types = {t.name: t for t in db.session.scalars(select(ProblemType))}
        self.chair: User = county.accounts["leader"]
        self.counts = {"meetings": 0, "problems": 0, "solved": 0, "assignments": 0}

    # -- the event queue -------------------------------------------------------------
    def at(self, when: datetime, action: Callable[[FixedClock], None]) -> None:
        if when.date() <= self.county.last_day:
            heapq.heappush(self.events, (when, next(self.seq), action))

    def later(self, clock: FixedClock, workdays: int, hour: int, action) -> None:
        self.at(self.county.at(add_workdays(clock.today(), workdays), hour, self.rng.randrange(0, 60, 5)), action)

    def run(self) -> None:
        """Every event at its moment; the app's clock follows, so the audit log is stamped when it happened."""
        self.plan()
        app = current_app._get_current_object()
        own = app.extensions["jiedian.clock"]
        try:
            while self.events:
                when, _n, action = heapq.heappop(self.events)
                clock = FixedClock(when, self.tz)
                app.extensions["jiedian.clock"] = clock
                action(clock)
        finally:
            app.extensions["jiedian.clock"] = own
        db.session.flush()

    # -- the year's plan --------------------------------------------------------------
    def plan(self) -> None:
        county = self.county
        projects = db.session.scalars(select(Project).where(Project.kind == "project").order_by(Project.id)).all()
        self.projects = [p for p in projects if county.staff.get(p.lead_unit.short_name)]
        day = county.year_start
        while day.weekday() != 0:
            day += timedelta(days=1)
        week = 0
        while day <= county.last_day:
            week += 1
            self.at(county.at(day, 9), self.weekly_meeting)
            if week % 6 == 3:
                self.at(county.at(day + timedelta(days=2), 9), self.onsite_meeting)
            for _ in range(self.rng.choice((2, 3, 3, 3))):
                raised = day + timedelta(days=self.rng.randint(0, 4))
                self.at(county.at_random(raised, 9, 17), self.raise_problem)
            if week % 3 == 1:
                self.at(county.at(day + timedelta(days=1), 10), self.instruction)
            if week % 5 == 2:
                self.at(county.at(day + timedelta(days=3), 15), self.inspection)
            if (day + timedelta(days=7)).month != day.month:  # the month's last week: 晒比会 on Friday
                self.at(county.at(day + timedelta(days=4), 15), self.review_meeting)
            day += timedelta(days=7)

    # -- problems ----------------------------------------------------------------------
    def raise_problem(self, clock: FixedClock) -> None:
        project = self.rng.choice(self.projects)
        kind = self.rng.choice(sorted(PROBLEMS))
        title, need, whom = self.rng.choice(PROBLEMS[kind])
        nodes = [n for n in project.nodes if n.unit_id == project.lead_unit_id and n.status in ("todo", "doing")]
        node = self.rng.choice(nodes) if nodes and self.rng.random() < 0.6 else None
        staff = self.county.staff[project.lead_unit.short_name][0]
        urgency = self.rng.choice(("normal", "normal", "urgent", "critical"))
        problem = problems.raise_problem(staff, project, node, self.types[kind].id, title, need, whom, urgency, clock=clock)
        self.counts["problems"] += 1
        path = self.rng.random()
        holder = self.county.leader_of.get(problem.unit.short_name)
        if path < 0.1 or holder is None:
            return  # stalled: open past its limit on the dashboard
        if path < 0.62:
            self.later(clock, self.rng.randint(1, 3), 10, lambda c: self.answer(problem.id, holder, c))
        else:  # up a level; about one in three goes on to the weekly meeting
            to_meeting = path >= 0.82
            self.later(clock, self.rng.randint(1, 2), 11, lambda c: self.escalate(problem.id, holder, c, to_meeting=to_meeting))

    def _problem(self, problem_id: int) -> Problem:
        return db.session.get(Problem, problem_id)

    def escalate(self, problem_id: int, actor: User, clock: FixedClock, *, to_meeting: bool) -> None:
        problem = self._problem(problem_id)
        problems.act(actor, problem, "escalate", "本级协调难度较大，请上级协调", clock=clock)
        if problem.level == "lead_leader":
            lead = problem.project.lead_leader
            if to_meeting or self.rng.random() < 0.2:
                self.later(clock, 1, 9, lambda c: self.escalate(problem_id, lead, c, to_meeting=True))
            else:
                self.later(clock, self.rng.randint(1, 3), 16, lambda c: self.answer(problem_id, lead, c))
        # at a meeting: the next weekly meeting takes it up

    def answer(self, problem_id: int, actor: User, clock: FixedClock) -> None:
        problem = self._problem(problem_id)
        problems.act(actor, problem, "answer", f"已协调{problem.needed_from}，明确办理时限", clock=clock)
        self.later(clock, self.rng.randint(2, 8), 15, lambda c: self.resolve(problem_id, actor, c))

    def resolve(self, problem_id: int, actor: User, clock: FixedClock) -> None:
        problem = self._problem(problem_id)
        if problem.state in ("open", "answered"):
            problems.act(actor, problem, "resolve", "问题已协调解决", clock=clock)
            if self.rng.random() < 0.97:
                self.later(clock, self.rng.randint(0, 2), 17, lambda c: self.confirm(problem_id, c))

    def confirm(self, problem_id: int, clock: FixedClock) -> None:
        problem = self._problem(problem_id)
        staff = db.session.get(User, problem.raised_by_id)
        problems.act(staff, problem, "confirm", "", clock=clock)
        self.counts["solved"] += 1

    # -- meetings and hand-outs -----------------------------------------------------------
    def _meeting(self, kind: str, clock: FixedClock, chair: User) -> Meeting:
        self.counts["meetings"] += 1
        return meetings.create(chair, kind=kind, title="", held_on=clock.today(), chair=chair, place=MEETING_PLACE,
                               attendees=ATTENDEES, clock=clock)

    def weekly_meeting(self, clock: FixedClock) -> None:
        meeting = self._meeting("weekly", clock, self.chair)
        agenda = meetings.agenda(meeting)
        for problem in agenda.problems:
            assignment = meetings.decide(self.chair, meeting, title=f"协调解决{problem.project.name}{problem.title}"[:100],
                                         text=f"{problem.needed_from}会同{problem.unit.name}限期解决：{problem.need}",
                                         proposal="请按“13710”时限办理", lead_unit=problem.unit, co_units=[],
                                         is_major=self.rng.random() < 0.1, problem=problem, clock=clock)
            self.follow(assignment, clock, problem_id=problem.id)
        meetings.record_minutes(self.chair, meeting, f"会议通报了上周节点推进和红黄牌情况，研究了提交会议的"
                                f"{len(agenda.problems)}个问题，议定事项当场交办。", None, clock=clock)
        meetings.issue_minutes(self.chair, meeting, clock=clock)

    def onsite_meeting(self, clock: FixedClock) -> None:
        project = self.rng.choice(self.projects)
        chair = project.lead_leader or self.chair
        meeting = self._meeting("onsite", clock, chair)
        assignment = meetings.decide(chair, meeting, title=f"{project.name}现场问题整改"[:100],
                                     text="现场查看发现的问题，牵头单位限期整改到位", proposal="", lead_unit=project.lead_unit,
                                     co_units=[], is_major=False, problem=None, clock=clock)
        self.follow(assignment, clock)
        meetings.record_minutes(chair, meeting, f"在{project.name}现场办公，协调解决项目推进中的问题。", None, clock=clock)
        meetings.issue_minutes(chair, meeting, clock=clock)

    def review_meeting(self, clock: FixedClock) -> None:
        meeting = self._meeting("review", clock, self.chair)
        meetings.record_minutes(self.chair, meeting, "各包保领导晒进度、比成效，排名靠后的单位作表态发言。", None, clock=clock)
        meetings.issue_minutes(self.chair, meeting, clock=clock)

    def _hand_out(self, source: str, pool, clock: FixedClock) -> None:
        title, text = self.rng.choice(pool)
        unit = self.rng.choice(self.projects).lead_unit
        assignment = assignments.hand_out(self.supervisor, source=source, source_ref=title, title=title, text=text,
                                          proposal="请牵头单位按“13710”时限办理", lead_unit=unit, co_units=[],
                                          is_major=self.rng.random() < 0.1, lead_leader=self.chair, clock=clock)
        self.follow(assignment, clock)

    def instruction(self, clock: FixedClock) -> None:
        self._hand_out("instruction", INSTRUCTIONS, clock)

    def inspection(self, clock: FixedClock) -> None:
        self._hand_out("inspection", INSPECTIONS, clock)

    # -- the 13710 steps ---------------------------------------------------------------------
    def follow(self, assignment: Assignment, clock: FixedClock, *, problem_id: int | None = None) -> None:
        """How the lead unit works the clocks: mostly on time, sometimes late, now and then still open."""
        self.counts["assignments"] += 1
        project_id = assignment.project_id
        steps = assignments.steps_of(assignment)
        staff = self.county.staff[db.session.get(Unit, assignment.project.lead_unit_id).short_name][0]
        sign_day = steps["receipt"].deadline if self.rng.random() < 0.93 else add_workdays(steps["receipt"].deadline, 1)
        report_day = steps["feedback"].deadline if self.rng.random() < 0.9 else add_workdays(steps["feedback"].deadline, 2)
        resolve = steps["resolve"].deadline
        resolve_day = resolve if self.rng.random() < 0.88 else add_workdays(resolve, self.rng.randint(1, 4))
        if self.rng.random() < 0.5:  # finished a little early, on a working day
            resolve_day = max(report_day, resolve_day - timedelta(days=self.rng.randint(0, 3)))
            while resolve_day.weekday() >= 5:
                resolve_day -= timedelta(days=1)
            resolve_day = max(report_day, resolve_day)
        county = self.county
        self.at(county.at(sign_day, 9, 10), lambda c: assignments.sign(staff, self._assignment(project_id), clock=c))
        self.at(county.at(max(report_day, sign_day), 16), lambda c: assignments.report(
            staff, self._assignment(project_id), "已召开专题会研究，明确责任人和时间表，正在推进", clock=c))
        self.at(county.at(max(resolve_day, report_day), 17), lambda c: self.submit(project_id, staff, c, problem_id))

    def _assignment(self, project_id: int) -> Assignment:
        return db.session.get(Assignment, project_id)

    def submit(self, project_id: int, staff: User, clock: FixedClock, problem_id: int | None) -> None:
        """办结: submitted with the unit's report (as the sign-off form does), verified by the office later."""
        node = assignments.steps_of(self._assignment(project_id))["resolve"]
        if not node.is_open:
            return
        node.status = "review"
        node.submitted_at = clock.now()
        node.submitted_on = clock.today()
        node.submitted_by_id = staff.id
        node.submission_note = "事项已办结，报送办结报告"
        audit.record(staff, "node.submit", node, summary=node.title, before={"status": "todo"},
                     after={"status": "review", "submitted_at": node.submitted_at})
        self.later(clock, self.rng.randint(1, 2), 10, lambda c: self.verify(project_id, c, problem_id))

    def verify(self, project_id: int, clock: FixedClock, problem_id: int | None) -> None:
        node = assignments.steps_of(self._assignment(project_id))["resolve"]
        boards.verify(self.supervisor, node, clock=clock)
        if problem_id is not None:
            problem = self._problem(problem_id)
            if problem.state in ("open", "answered"):
                problems.act(self.supervisor, problem, "resolve", "会议交办事项已办结", clock=clock)
                self.later(clock, 1, 17, lambda c: self.confirm(problem_id, c))


def build_loop(county) -> dict[str, int]:
    """Add the year's meetings, problems and assignments; returns what was made."""
    loop = Loop(county)
    loop.run()
    return loop.counts
