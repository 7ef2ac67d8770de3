"""Words for the demo council's history: supervision records, actions, reflections.

Plain data, picked from with a seeded `random.Random`, so `harbour demo` writes the same
story every time. Names of children and families never appear: cases are references only.
"""

from __future__ import annotations

MANAGEMENT = (
    "Caseload reviewed: {n} children. Two assessments are nearing timescale; agreed which to "
    "prioritise this week.",
    "Went through the caseload list together. Visits are up to date apart from one child, "
    "seen at school instead; agreed that counts and the record says why.",
    "Looked at recording: chronologies are current. Case summaries on two files need "
    "updating before the review conference.",
    "Caseload of {n}. Discussed whether the allocation is manageable with court work coming "
    "up; agreed no new allocations for a fortnight.",
    "Audit feedback on one file shared: good analysis, the child's voice could be clearer in "
    "the plan. Agreed to add direct quotes from the last visit.",
    "Reviewed timescales for statutory visits and plans. All within timescale this month.",
)
MANAGEMENT_TEAM = (
    "Team performance: visits within timescale {pct}%, assessments on time improving. Two "
    "vacancies still covered by agency staff.",
    "Discussed the team's allocation pressure and the plan to move two cases to the "
    "Children in Care Team after the next review.",
    "Audit results for the team reviewed; themes are the voice of the child and planning. "
    "Agreed a team development session on SMART plans.",
    "Sickness in the team is covered for now; agreed to revisit in four weeks.",
)
DEVELOPMENT = (
    "Talked about the training on trauma-informed practice; will try the "
    "'name it to tame it' approach in the next direct work session.",
    "Development: wants to build confidence in court. Agreed to shadow a senior colleague "
    "giving evidence and to read the last two final statements from the team.",
    "Reflected on a difficult home visit using the Signs of Safety framework; good analysis "
    "of what is working well as well as the worries.",
    "Reviewed learning goals for this quarter: assessment writing, and chairing a core "
    "group meeting with support.",
    "Discussed a research summary on neglect and how it applies to two current cases.",
)
DEVELOPMENT_ASYE = (
    "ASYE: reviewed the portfolio. Two direct observations done; agreed the next one will "
    "be a child protection visit.",
    "ASYE: reflective log discussed. Good use of theory; next step is to link it more "
    "explicitly to the PCF domains.",
    "ASYE: protected caseload checked and still within the agreed limit. Mid-point review "
    "date agreed.",
)
DEVELOPMENT_STUDENT = (
    "Placement: learning agreement reviewed. Shadowing this week, first co-worked visit next "
    "week with the practice educator.",
    "Placement: reflective log discussed; agreed a piece of direct work to write up for the "
    "portfolio.",
)
SUPPORT = (
    "Checked in about workload and wellbeing. Feeling stretched but managing; sleeping "
    "better since changing working pattern on Fridays.",
    "Talked about the impact of a distressing disclosure last week. Used the session to "
    "process it; reminded about the employee assistance programme.",
    "Wellbeing: good week, energised by a family making real progress.",
    "Discussed the emotional load of the court case. Agreed a debrief after the final "
    "hearing and to keep Friday afternoons clear for recording.",
    "Some personal pressures at home at the moment; agreed flexible start times for a month.",
)
MEDIATION = (
    "Raised concerns about delays in the health assessment; will escalate to the named nurse.",
    "Joint working with the school is going well; no issues to take further.",
    "Discussed tension with a partner agency over a referral threshold; agreed to invite "
    "them to a professionals meeting.",
    "",
    "",
)

WORRIED = (
    "Parental substance misuse; missed health appointments; the child describes being hungry "
    "at school.",
    "Domestic abuse incidents reported by police twice in three months.",
    "Young person going missing overnight; concerns about exploitation.",
    "Home conditions deteriorating; the baby's weight gain has slowed.",
)
WORKING_WELL = (
    "Grandparents provide daily care after school; the child is attending regularly.",
    "Mother engaged with the domestic abuse service and has kept every appointment.",
    "The young person has a trusted relationship with the youth worker.",
    "Health visitor visits weekly and the family welcome her.",
)
NEEDS_TO_HAPPEN = (
    "Safety plan reviewed with the family network by Friday.",
    "Refer to the family group conference service.",
    "Strategy discussion if another missing episode occurs.",
    "Core group to meet within ten working days.",
)
DECISIONS = (
    ("Continue under the child in need plan.", "Risk is reducing and the family is engaging."),
    (
        "Convene an initial child protection conference.",
        "Repeated incidents and the safety plan has not held.",
    ),
    ("Step down to early help at the next review.", "The plan's goals are met."),
    ("Seek legal advice.", "Concerns persist despite support; threshold may be met."),
)
CASE_PREFIX = ("CIN", "CP", "CLA", "EH")

ACTIONS = (
    "Update the chronology",
    "Complete the assessment and share with the family",
    "Book the next core group meeting",
    "Visit the child at school and record their views",
    "Send the referral to the family group conference service",
    "Read the practice guidance on neglect",
    "Book on the court skills training",
    "Finish the direct observation write-up for the portfolio",
    "Contact the school's designated safeguarding lead",
    "Arrange a joint visit with the health visitor",
)
ACTIONS_SUPERVISOR = (
    "Check the allocation list for capacity",
    "Ask the service manager about cover for court days",
    "Escalate the health assessment delay",
)
ACTIONS_TEAM = (
    "Share the audit themes at the next team meeting",
    "Agree the agency cover extension with HR",
    "Review return-to-work plan",
    "Plan the team development session",
)

CANCEL_REASONS = (
    "Urgent child protection visit came in that morning.",
    "Supervisor called into a strategy meeting.",
    "Court hearing moved to the same morning.",
    "Supervisee off sick.",
    "Rearranged at the supervisee's request: training day.",
)
DISAGREEMENT = (
    "I agree with the record except the caseload figure: it was 21 at the time, not 18.",
    "The actions are fine but I don't think the record reflects how stretched I said I was.",
)
FEEDBACK = (
    "Helpful to have time to think.",
    "Felt listened to.",
    None,
    None,
    "Rushed this time.",
)

# (template, title, body, tags, mood)
Note = tuple[str, str, dict[str, str], list[str], int | None]
REFLECTIONS: tuple[Note, ...] = (
    (
        "gibbs",
        "A visit that didn't go to plan",
        {
            "description": "Dad wouldn't let me in at first. We talked on the doorstep.",
            "feelings": "Anxious and a bit unwelcome; also worried about the children inside.",
            "evaluation": "I stayed calm and kept the focus on the children.",
            "analysis": "He felt judged by the last social worker; trust needs rebuilding.",
            "conclusion": "I could have phoned ahead to say exactly why I was coming.",
            "action_plan": "Phone ahead next time, and explain the plan in plain words.",
        },
        ["compassion", "relationships_networks_communities", "family_focused"],
        2,
    ),
    (
        "what_so_what_now_what",
        "Hearing what the child said",
        {
            "what": "She drew her house and left her stepdad out of the picture.",
            "so_what": "I'd been focusing on mum's account; her voice was missing.",
            "now_what": "Plan direct work with her before the review.",
        },
        ["voice_of_the_child", "child_centred", "curiosity"],
        3,
    ),
    (
        "restorative",
        "After the conference",
        {
            "what_happened": "Mum left the conference upset when the plan was read out.",
            "thinking": "That we'd done this TO her rather than WITH her.",
            "affected": "Mum, the children, and the relationship we'd started to build.",
            "needs_to_happen": "Visit this week to go through the plan together.",
        },
        ["collaboration", "planning_and_review", "trauma_informed"],
        2,
    ),
    (
        "signs_of_safety",
        "Mapping the worries on a CIN case",
        {
            "worries": "Missed appointments, school attendance dropping.",
            "working_well": "Nan is involved every day; mum asked for help herself.",
            "needs_to_happen": "Family network meeting; attendance plan with school.",
            "scaling": "6",
        },
        ["signs_of_safety", "assessment_of_need"],
        4,
    ),
    (
        "free",
        "A good week",
        {"text": "The family group conference went really well. The family made the plan."},
        ["commitment", "family_focused"],
        5,
    ),
    (
        "free",
        "Carrying a lot this week",
        {
            "text": "Two hard visits back to back and a disclosure on Thursday. I want to talk "
            "about how I keep carrying it home."
        },
        ["trauma_informed"],
        2,
    ),
    (
        "what_so_what_now_what",
        "Using the scaling question",
        {
            "what": "I asked dad to scale how safe the children are; he said 7, I'd say 4.",
            "so_what": "The gap is the conversation we need to have.",
            "now_what": "Ask what would make it a 5 for me and an 8 for him.",
        },
        ["signs_of_safety", "curiosity", "creativity"],
        4,
    ),
)
