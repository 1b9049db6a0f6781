"""Sample city notices for a fresh database: 46 notices in eight categories, written for this project.

Sample data only: the departments, places and programmes are plausible for Paju, but dates, amounts,
phone extensions and links are made up. Publication dates are counted back from the seeding day, so
the newest notice is always recent; the seeder adds only notices whose title is not there yet.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.notices import search
from api.notices.models import Notice
from common.clock import SEOUL, utcnow

FILES = "https://example.com/paju-sample"


@dataclass(frozen=True)
class SampleNotice:
    category: str
    department: str
    title: str
    body: str
    days_ago: int
    summary: str | None = None
    title_en: str | None = None
    summary_en: str | None = None
    attachments: tuple[tuple[str, str], ...] = ()
    expires_in_days: int | None = None


NOTICES = (
    # --- traffic and roads -------------------------------------------------------------------------------
    SampleNotice(
        "traffic",
        "주차관리과",
        "공영주차장 운영 안내",
        "금촌역, 문산역, 운정역 공영주차장의 운영 시간과 요금을 알려 드립니다. 세 곳 모두 24시간 운영하며 "
        "최초 30분은 600원, 이후 10분마다 200원입니다. 경차와 친환경차는 50%, 장애인 차량은 80% 감면됩니다. "
        "월 정기권은 주차관리과 방문 또는 누리집에서 신청할 수 있습니다.",
        2,
        summary="금촌역·문산역·운정역 공영주차장 24시간 운영, 최초 30분 600원, 경차·친환경차 50% 감면.",
        title_en="Public car parks: hours and fees",
        summary_en="The public parking lots at Geumchon, Munsan and Unjeong stations are open 24 hours; "
        "600 won for the first 30 minutes, half price for compact and eco-friendly cars.",
        attachments=(("공영주차장 위치와 요금표", f"{FILES}/public-parking-fees.pdf"),),
    ),
    SampleNotice(
        "traffic",
        "도로과",
        "통일로 도로 공사 안내",
        "통일로 문산읍 선유리 구간(약 1.2km)의 노후 포장 보수를 위해 도로 공사를 합니다. 공사 기간 중 "
        "평일 오전 9시부터 오후 5시까지 편도 1차로를 통제하니 우회도로를 이용해 주십시오. 야간과 주말에는 "
        "전 차로를 개방합니다.",
        4,
        title_en="Road works on Tongil-ro (Munsan)",
        summary_en="Road works on Tongil-ro in Munsan-eup: one lane closed on weekdays 9:00–17:00; "
        "all lanes open at night and at weekends. Please take a detour.",
        attachments=(("공사 구간 우회 안내도", f"{FILES}/tongil-ro-detour.pdf"),),
        expires_in_days=45,
    ),
    SampleNotice(
        "traffic",
        "대중교통과",
        "시내버스 노선 개편 안내",
        "운정신도시와 금촌을 잇는 시내버스 노선을 개편합니다. 운정역에서 금촌역까지 가는 급행 노선이 새로 "
        "생기고, 이용객이 적은 두 개 노선은 통합됩니다. 바뀐 정류장과 배차 간격은 첨부 파일과 버스 정보 "
        "누리집에서 확인해 주십시오.",
        9,
        title_en="City bus routes change",
        summary_en="New express bus between Unjeong and Geumchon stations; two quiet routes are merged. "
        "See the attachment for stops and timetables.",
        attachments=(("개편 노선도와 시간표", f"{FILES}/bus-routes.pdf"),),
    ),
    SampleNotice(
        "traffic",
        "주차관리과",
        "불법 주정차 단속 강화 안내",
        "어린이 보호구역, 소화전 주변, 교차로 모퉁이, 버스 정류소의 불법 주정차를 집중 단속합니다. "
        "주민신고제로 신고된 차량에는 1분 이상 정차만으로도 과태료가 부과됩니다.",
        12,
        title_en="Stricter checks on illegal parking",
        summary_en="Illegal stopping near school zones, fire hydrants, corners and bus stops will be "
        "fined, also when reported by residents.",
    ),
    SampleNotice(
        "traffic",
        "교통정책과",
        "운정 교차로 신호 체계 변경",
        "출퇴근 시간 정체를 줄이기 위해 운정신도시 주요 교차로 6곳의 신호 주기를 조정합니다. 변경 초기에는 "
        "현장 안내 요원이 배치됩니다. 운전 시 신호를 꼭 확인해 주십시오.",
        20,
    ),
    SampleNotice(
        "traffic",
        "도로과",
        "겨울철 제설 작업 협조 요청",
        "눈이 내리면 주요 도로부터 제설 작업을 합니다. 제설 차량이 지나갈 수 있도록 이면도로 주차를 "
        "자제해 주시고, 내 집 앞 눈은 직접 치워 주십시오. 제설함 위치는 읍면동 행정복지센터에서 안내합니다.",
        6,
        title_en="Snow clearing: please help",
        summary_en="Please keep side streets free of parked cars when it snows and clear the snow in front "
        "of your home.",
    ),
    SampleNotice(
        "traffic",
        "주차관리과",
        "거주자 우선주차 구획 신청 안내",
        "금촌동과 문산읍 주택가의 거주자 우선주차 구획 이용자를 모집합니다. 해당 동에 주민등록이 된 "
        "차량 소유자가 신청할 수 있으며, 월 2만 원입니다. 추첨으로 선정합니다.",
        30,
        title_en="Resident parking permits",
        summary_en="Residents of Geumchon-dong and Munsan-eup can apply for a reserved parking space in "
        "their street, 20,000 won a month; places are drawn by lot.",
    ),
    # --- tax -----------------------------------------------------------------------------------------------
    SampleNotice(
        "tax",
        "세정과",
        "제2기분 자동차세 납부 안내",
        "제2기분 자동차세는 매년 12월에 냅니다. 납부 기한은 12월 31일이며, 위택스·인터넷 뱅킹·가상계좌·"
        "현금인출기로 낼 수 있습니다. 연납을 신청하시면 다음 해 세액이 공제됩니다.",
        1,
        title_en="Car tax for the second half-year",
        summary_en="The car tax for the second half of the year is due by 31 December; pay online, by "
        "bank transfer or at an ATM.",
        expires_in_days=40,
    ),
    SampleNotice(
        "tax",
        "세정과",
        "재산세 정기분 납부 안내",
        "주택(2기분)과 토지에 대한 재산세 고지서를 발송했습니다. 납부 기한까지 내지 않으면 3%의 가산금이 "
        "붙습니다. 고지서를 받지 못하셨다면 세정과로 문의해 주십시오.",
        50,
        title_en="Property tax payment",
        summary_en="Property tax bills for houses and land have been sent; 3% is added when paid late.",
    ),
    SampleNotice(
        "tax",
        "징수과",
        "지방세 체납액 일제 정리 기간 운영",
        "지방세 체납액 일제 정리 기간을 운영합니다. 이 기간에 밀린 세금을 내시면 차량 번호판 영치와 "
        "재산 압류를 피할 수 있습니다. 분할 납부 상담도 받습니다.",
        15,
    ),
    SampleNotice(
        "tax",
        "세정과",
        "지방소득세 신고 안내",
        "종합소득세를 신고하실 때 개인지방소득세도 함께 신고해 주십시오. 홈택스에서 종합소득세를 신고하면 "
        "위택스로 바로 연결됩니다.",
        70,
        title_en="Local income tax return",
        summary_en="File your local income tax together with your national income tax return.",
    ),
    SampleNotice(
        "tax",
        "세정과",
        "세금 고지서 모바일 전자송달 신청 안내",
        "지방세 고지서를 종이 대신 모바일로 받아 보세요. 전자송달과 자동이체를 함께 신청하면 건당 최대 "
        "1,600원의 세액 공제를 받을 수 있습니다.",
        25,
        title_en="Tax bills on your phone",
        summary_en="Get local tax bills on your phone instead of paper; with automatic payment you save "
        "up to 1,600 won per bill.",
    ),
    # --- culture and events ----------------------------------------------------------------------------------
    SampleNotice(
        "culture",
        "문화예술과",
        "파주 장단콩 축제 개최",
        "임진각 평화누리 일대에서 파주 장단콩 축제가 열립니다. 장단콩 직거래 장터, 두부 만들기 체험, "
        "지역 가수 공연이 준비되어 있습니다. 행사장 주변이 혼잡하니 셔틀버스를 이용해 주십시오.",
        35,
        title_en="Paju Jangdan Bean Festival",
        summary_en="The Jangdan soybean festival at Imjingak: a farmers' market, tofu making and "
        "concerts. Take the shuttle bus; parking is limited.",
    ),
    SampleNotice(
        "culture",
        "문화예술과",
        "파주 개성인삼축제 안내",
        "임진각 광장에서 개성인삼축제를 엽니다. 6년근 인삼을 시중보다 저렴하게 살 수 있고 인삼 캐기 체험도 "
        "할 수 있습니다.",
        60,
        title_en="Paju Gaeseong Ginseng Festival",
        summary_en="Ginseng festival at Imjingak square: buy six-year-old ginseng from local farms.",
    ),
    SampleNotice(
        "culture",
        "도서관정책과",
        "시립도서관 겨울 독서교실 참가자 모집",
        "초등학생을 위한 겨울 독서교실 참가자를 모집합니다. 교하·운정·금촌 도서관에서 5일 동안 진행하며 "
        "참가비는 무료입니다. 도서관 누리집에서 선착순으로 신청하십시오.",
        5,
        title_en="Winter reading classes at city libraries",
        summary_en="Free five-day winter reading classes for primary school children at Gyoha, Unjeong "
        "and Geumchon libraries.",
        expires_in_days=20,
    ),
    SampleNotice(
        "culture",
        "문화예술과",
        "헤이리 예술마을 주말 공연 안내",
        "헤이리 예술마을 야외무대에서 매주 토요일 오후 3시에 작은 음악회가 열립니다. 관람은 무료이며 "
        "비가 오면 취소됩니다.",
        11,
    ),
    SampleNotice(
        "culture",
        "출판문화과",
        "파주출판도시 책 축제",
        "파주출판도시에서 책 축제가 열립니다. 출판사 할인 장터, 작가와의 대화, 어린이 그림책 낭독회가 "
        "준비되어 있습니다.",
        45,
        title_en="Book festival at Paju Book City",
        summary_en="Publishers' book market, author talks and picture-book readings at Paju Book City.",
    ),
    SampleNotice(
        "culture",
        "평생교육과",
        "시민 문화강좌 수강생 모집",
        "평생학습관에서 캘리그라피, 우쿨렐레, 생활 영어 강좌 수강생을 모집합니다. 파주 시민이면 누구나 "
        "신청할 수 있고 재료비만 본인이 부담합니다.",
        8,
    ),
    # --- jobs ---------------------------------------------------------------------------------------------
    SampleNotice(
        "jobs",
        "일자리경제과",
        "파주시 일자리 박람회 개최",
        "지역 기업 40여 곳이 참여하는 일자리 박람회를 시민회관에서 엽니다. 현장 면접, 이력서 사진 촬영, "
        "취업 상담을 무료로 받을 수 있습니다.",
        3,
        title_en="Paju job fair",
        summary_en="Job fair at the Citizens' Hall with about 40 local companies: interviews on the spot, "
        "free CV photos and career advice.",
        expires_in_days=15,
    ),
    SampleNotice(
        "jobs",
        "일자리경제과",
        "공공근로 사업 참여자 모집",
        "상반기 공공근로 사업 참여자를 모집합니다. 만 18세 이상 근로 능력이 있는 파주 시민 중 가구 소득 "
        "기준을 충족하는 분이 대상이며, 주소지 행정복지센터에서 신청합니다.",
        10,
        title_en="Public works jobs: applicants wanted",
        summary_en="Paju residents aged 18 or over on a low household income can apply for public works "
        "jobs at their local community centre.",
    ),
    SampleNotice(
        "jobs",
        "청년정책과",
        "청년 창업 지원금 신청 안내",
        "창업 3년 이내의 만 19~39세 청년 창업가에게 사업화 자금을 최대 1천만 원까지 지원합니다. "
        "사업계획서 심사와 발표 평가로 선정합니다.",
        18,
        title_en="Start-up grants for young people",
        summary_en="Young founders aged 19 to 39 with a business under three years old can get up to 10 million won.",
    ),
    SampleNotice(
        "jobs",
        "일자리경제과",
        "신중년 경력 활용 일자리 모집",
        "만 50세 이상 64세 이하 신중년의 경력을 살릴 수 있는 사회공헌 일자리 참여자를 모집합니다. "
        "복지시설 행정 지원, 마을 해설 등 분야가 있습니다.",
        22,
    ),
    SampleNotice(
        "jobs",
        "노인장애인과",
        "노인 일자리 사업 참여자 모집",
        "만 65세 이상 어르신을 위한 공익활동과 시장형 일자리 참여자를 모집합니다. 가까운 시니어클럽이나 "
        "노인복지관에서 신청하십시오.",
        40,
        title_en="Jobs for senior citizens",
        summary_en="People aged 65 or over can apply for community and market jobs at senior clubs.",
    ),
    # --- welfare ------------------------------------------------------------------------------------------
    SampleNotice(
        "welfare",
        "청년정책과",
        "청년 월세 지원 신청 안내",
        "부모와 따로 사는 만 19~34세 무주택 청년에게 월세를 월 최대 20만 원, 12개월 동안 지원합니다. "
        "복지로 누리집 또는 주소지 행정복지센터에서 신청할 수 있습니다.",
        7,
        title_en="Rent support for young people",
        summary_en="Young people aged 19 to 34 living on their own can get up to 200,000 won a month for "
        "rent, for 12 months.",
    ),
    SampleNotice(
        "welfare",
        "복지정책과",
        "기초연금 신청 안내",
        "만 65세 이상이고 소득 인정액이 선정 기준 이하인 어르신은 기초연금을 받을 수 있습니다. 생일이 "
        "속한 달의 한 달 전부터 신청할 수 있습니다.",
        28,
        title_en="Basic pension: how to apply",
        summary_en="People aged 65 or over with a low income can apply for the basic pension from a month "
        "before their birthday month.",
    ),
    SampleNotice(
        "welfare",
        "복지정책과",
        "긴급복지 지원 제도 안내",
        "갑작스러운 실직, 질병, 화재 등으로 생계가 어려워진 가구에 생계비와 의료비를 신속하게 지원합니다. "
        "보건복지상담센터(129) 또는 행정복지센터로 연락해 주십시오.",
        33,
    ),
    SampleNotice(
        "welfare",
        "복지정책과",
        "난방비 지원 에너지바우처 신청",
        "기초생활수급 가구 중 노인, 영유아, 장애인이 있는 가구에 겨울철 난방비를 에너지바우처로 "
        "지원합니다. 행정복지센터에서 신청하십시오.",
        14,
        title_en="Heating cost vouchers",
        summary_en="Energy vouchers for heating costs for low-income households with older people, "
        "infants or disabled members.",
    ),
    SampleNotice(
        "welfare",
        "출산보육과",
        "출산 축하금과 산후조리비 지원",
        "파주시에 주민등록을 둔 가정에서 아이가 태어나면 출산 축하금과 산후조리비를 지원합니다. 출생신고 "
        "시 함께 신청할 수 있습니다.",
        55,
        title_en="Childbirth grants",
        summary_en="Families registered in Paju get a childbirth grant and postnatal care support; apply "
        "when you register the birth.",
    ),
    SampleNotice(
        "welfare",
        "노인장애인과",
        "장애인 활동지원 서비스 안내",
        "일상생활이 어려운 장애인에게 활동지원사의 신체 활동, 가사, 이동 지원 서비스를 제공합니다. 국민연금공단 "
        "방문 조사를 거쳐 지원 시간이 정해집니다.",
        65,
    ),
    SampleNotice(
        "welfare",
        "보건소 감염병관리과",
        "어르신 독감 예방접종 무료 실시",
        "만 65세 이상 어르신은 지정 의료기관과 보건소에서 인플루엔자 예방접종을 무료로 받을 수 있습니다. "
        "신분증을 꼭 가져오십시오.",
        38,
        title_en="Free flu shots for seniors",
        summary_en="People aged 65 or over get a free flu vaccination at designated clinics and the "
        "public health centre; bring your ID.",
    ),
    # --- tourism ------------------------------------------------------------------------------------------
    SampleNotice(
        "tourism",
        "관광과",
        "DMZ 평화관광 운영 일정 변경 안내",
        "군 작전 일정에 따라 DMZ 평화관광 일부 회차의 출발 시간이 바뀝니다. 예약하신 분께는 문자로 "
        "개별 안내해 드렸습니다. 매주 월요일과 공휴일은 운영하지 않습니다.",
        0,
        title_en="DMZ Peace Tour schedule changes",
        summary_en="Some DMZ Peace Tour departures move because of military schedules; booked visitors "
        "have been told. No tours on Mondays and public holidays.",
    ),
    SampleNotice(
        "tourism",
        "관광과",
        "임진각 평화누리 겨울 행사",
        "임진각 평화누리에서 눈썰매장과 얼음 조각 전시를 운영합니다. 어린이 동반 가족을 위한 연날리기 "
        "체험도 준비했습니다.",
        13,
        title_en="Winter events at Imjingak Nuri Peace Park",
        summary_en="Sledding, ice sculptures and kite flying for families at Imjingak Nuri Peace Park.",
        expires_in_days=70,
    ),
    SampleNotice(
        "tourism",
        "관광과",
        "마장호수 출렁다리 야간 개방",
        "마장호수 출렁다리를 금요일과 토요일 밤 9시까지 개방합니다. 야간 조명과 호수 둘레길 산책을 즐겨 보세요.",
        17,
        title_en="Majang Lake suspension bridge open at night",
        summary_en="The Majang Lake suspension bridge stays open until 21:00 on Fridays and Saturdays.",
    ),
    SampleNotice(
        "tourism",
        "관광과",
        "감악산 출렁다리 통행 제한",
        "감악산 출렁다리 정기 안전 점검으로 이틀 동안 통행을 제한합니다. 등산로는 정상 운영합니다.",
        26,
        title_en="Gamaksan suspension bridge closed for inspection",
        summary_en="The Gamaksan suspension bridge is closed for two days for its safety inspection; the "
        "trails stay open.",
    ),
    SampleNotice(
        "tourism",
        "관광과",
        "관광 해설사 동행 프로그램 운영",
        "파주의 역사와 자연을 문화관광해설사와 함께 둘러보는 무료 해설 프로그램을 운영합니다. 임진각, "
        "율곡 유적지, 반구정 코스가 있습니다.",
        42,
    ),
    # --- safety -------------------------------------------------------------------------------------------
    SampleNotice(
        "safety",
        "안전총괄과",
        "폭염 대비 무더위 쉼터 운영",
        "폭염 특보가 내려지면 경로당과 행정복지센터 등 무더위 쉼터를 오후 9시까지 운영합니다. 한낮에는 "
        "야외 활동을 줄이고 물을 자주 드십시오.",
        75,
        title_en="Cooling centres during heatwaves",
        summary_en="During a heatwave warning, cooling centres at senior centres and community centres "
        "stay open until 21:00.",
    ),
    SampleNotice(
        "safety",
        "안전총괄과",
        "한파 쉼터 운영 안내",
        "한파 특보가 내려지면 경로당과 행정복지센터를 한파 쉼터로 운영합니다. 수도 계량기 동파에 "
        "대비해 헌 옷으로 감싸 주십시오.",
        3,
        title_en="Warming shelters during cold waves",
        summary_en="During a cold wave warning, senior centres and community centres open as warming shelters.",
    ),
    SampleNotice(
        "safety",
        "산림농지과",
        "산불 조심 기간 입산 통제",
        "봄철 산불 조심 기간에 산불 위험이 높은 등산로의 입산을 통제합니다. 산림 안이나 가까운 곳에서 "
        "불을 피우거나 쓰레기를 태우면 과태료가 부과됩니다.",
        80,
        title_en="Wildfire season: some trails closed",
        summary_en="Trails with a high wildfire risk are closed in the spring fire season; lighting fires "
        "near forests is fined.",
    ),
    SampleNotice(
        "safety",
        "안전총괄과",
        "임진강 수위 상승 하천변 출입 통제",
        "상류 지역 집중호우로 임진강 수위가 오르고 있습니다. 하천변 산책로와 캠핑장 출입을 통제하니 "
        "강가에 가까이 가지 마십시오.",
        1,
        title_en="Imjin River rising: keep away from the banks",
        summary_en="Heavy rain upstream is raising the Imjin River: riverside paths and campsites are closed.",
    ),
    SampleNotice(
        "safety",
        "안전총괄과",
        "민방위 훈련 실시 안내",
        "민방위 훈련을 실시합니다. 공습 경보가 울리면 가까운 대피소로 이동하고, 차량은 도로 오른쪽에 세워 주십시오.",
        48,
        title_en="Civil defence drill",
        summary_en="Civil defence drill: when the siren sounds go to the nearest shelter; drivers pull "
        "over to the right.",
    ),
    SampleNotice(
        "safety",
        "환경보전과",
        "미세먼지 비상저감조치 시행",
        "고농도 미세먼지로 비상저감조치를 시행합니다. 공공기관 차량 2부제와 배출가스 5등급 차량 운행 "
        "제한이 적용되니 대중교통을 이용해 주십시오.",
        23,
        title_en="Fine dust emergency measures",
        summary_en="High fine dust levels: older diesel cars may not drive and public vehicles run on alternate days.",
    ),
    # --- administration -----------------------------------------------------------------------------------
    SampleNotice(
        "administration",
        "민원여권과",
        "여권 발급 접수 시간 연장 운영",
        "방학철 여권 발급 수요에 맞춰 매주 목요일 오후 8시까지 여권 접수 시간을 연장합니다. 사진 규격을 "
        "미리 확인해 주십시오.",
        6,
        title_en="Passport desk open later on Thursdays",
        summary_en="The passport desk at City Hall takes applications until 20:00 on Thursdays.",
    ),
    SampleNotice(
        "administration",
        "자치행정과",
        "전입신고 온라인 신청 안내",
        "이사한 뒤 14일 안에 전입신고를 해야 합니다. 정부24에서 온라인으로 신청하거나 새 주소지 "
        "행정복지센터를 방문하십시오.",
        19,
        title_en="Report your move online",
        summary_en="Report your new address within 14 days of moving, online on Government24 or at the "
        "community centre.",
    ),
    SampleNotice(
        "administration",
        "민원여권과",
        "무인민원발급기 설치 장소 안내",
        "주민등록등본, 가족관계증명서 등을 뽑을 수 있는 무인민원발급기가 운정역과 금촌역에 새로 설치되었습니다.",
        36,
    ),
    SampleNotice(
        "administration",
        "자치행정과",
        "주민등록 사실조사 실시",
        "주민등록 내용과 실제 거주 사실이 같은지 확인하는 사실조사를 합니다. 조사원이 방문하면 신분증을 "
        "확인해 주십시오.",
        58,
    ),
    SampleNotice(
        "administration",
        "민원여권과",
        "시청 민원실 점심시간 운영",
        "직장인 편의를 위해 시청 민원실은 점심시간(낮 12시~1시)에도 쉬지 않고 민원을 처리합니다.",
        44,
        title_en="City Hall service desk open at lunchtime",
        summary_en="The City Hall service desk stays open from 12:00 to 13:00.",
    ),
)


def _published_at(now: datetime, days_ago: int) -> datetime:
    """09:00 on the day `days_ago` before now, but never later than now: a notice is never seeded unpublished."""
    day = now.astimezone(SEOUL).date() - timedelta(days=days_ago)
    return min(datetime.combine(day, time(9, 0), SEOUL), now)


def seed_notices(session: Session, now: datetime | None = None) -> int:
    now = now or utcnow()
    today = now.astimezone(SEOUL).date()
    existing = set(session.scalars(select(Notice.title)))
    added = 0
    for sample in NOTICES:
        if sample.title in existing:
            continue
        published_at = _published_at(now, sample.days_ago)
        expires_at = (
            datetime.combine(today + timedelta(days=sample.expires_in_days), time(0), SEOUL)
            if sample.expires_in_days
            else None
        )
        notice = Notice(
            category=sample.category,
            department=sample.department,
            title=sample.title,
            body=sample.body,
            summary=sample.summary,
            title_en=sample.title_en,
            summary_en=sample.summary_en,
            attachments=[{"title": title, "url": url} for title, url in sample.attachments],
            status="published",
            published_at=published_at,
            expires_at=expires_at,
            created_at=published_at,
            updated_at=published_at,
        )
        session.add(notice)
        search.index_notice(session, notice)
        added += 1
    return added
