"""The phrases of a question that ask for something: a change, a share, an average, a ranking, a maximum, a trend,
a count, a sum, a chart, a follow-up. Read when parsing (they name nothing in the data) and when planning (they
choose the aggregation)."""

import re

from api.opendata import periods

CHANGE = re.compile(
    r"증감|증가|감소|늘었|늘어|줄었|줄어|변화(?!\s*추이)|변동|대비|비교|차이|성장|달라|"
    r"\b(?:changed?|changes|increased?|decreased?|grow|grew|growth|grown|compared?|comparison|versus|vs\.?|"
    r"difference|differ|rise|rose|fell|drop|dropped|declined?)\b"
)


SHARE = re.compile(
    r"비율|비중|점유율|퍼센트|몇\s*%|몇\s*프로|차지|구성비|"
    r"\b(?:share|percentage|percent|proportion|ratio|fraction)\b|what\s*%"
)


AVERAGE = re.compile(r"평균|\b(?:average|mean|avg|typical)\b")


RANKING = re.compile(
    r"순위|랭킹|상위|하위|많은\s*순|높은\s*순|적은\s*순|낮은\s*순|큰\s*순|순서대로|"
    r"\b(?:rank|ranks|ranking|rankings|ranked|top\s*\d+|bottom\s*\d+|in order)\b"
)


ASCENDING = re.compile(r"하위|적은\s*순|낮은\s*순|작은\s*순|\b(?:bottom|lowest|fewest|least|smallest)\b")


MAXIMUM = re.compile(
    r"(?:가장|제일|젤)\s*(?:많|높|크|큰|비싸|비싼|넓|붐비|북적)|최대|최고|최다|피크|정점|"
    r"\b(?:most|highest|maximum|max|peak|peaked|busiest|largest|biggest|priciest|record)\b"
)


MINIMUM = re.compile(
    r"(?:가장|제일|젤)\s*(?:적|낮|작|싸|싼|저렴|좁|한산)|최소|최저|"
    r"\b(?:least|lowest|minimum|min|fewest|smallest|quietest|cheapest)\b"
)


TREND = re.compile(
    r"추이|추세|흐름|그래프|차트|월별|연도별|연별|년도별|분기별|해마다|달마다|매월|매년|시계열|"
    r"\b(?:trends?|over time|monthly|month by month|by month|each month|every month|yearly|annually|by year|"
    r"each year|every year|year by year|charts?|graphs?|plot|evolution|history|time series)\b"
)


YEARLY = re.compile(
    r"연도별|연별|년도별|해마다|매년|연간|"
    r"\b(?:yearly|annual|annually|by year|per year|each year|every year|year by year)\b"
)


COUNT = re.compile(r"몇\s*(?:곳|개|군데|개소)|개수|갯수|\b(?:how many|number of|count)\b")


SUM = re.compile(
    r"합계|합산|총합|모두|전부|누적|통틀어|총|전체|\b(?:total|sum|altogether|combined|overall|cumulative|in all)\b"
)


TOP_N = re.compile(r"(?:상위|하위|top|bottom)\s*(\d{1,2})|(\d{1,2})\s*(?:위|곳|개|군데)\s*까지")


BY_TIME = re.compile(r"달|월|해|연도|년도|때|시기|언제|\b(?:month|months|year|years|when|period)\b")


BY_PLACE = re.compile(
    r"곳|지역|동네|어디|어느\s*동|\b(?:where|which (?:district|area|place)|place|places|area|areas)\b"
)


FOLLOW_UP = re.compile(
    r"^\s*(?:그럼|그러면|그리고|그건|그거|그럼요|근데|and|what about|how about|then|also|same)\b|^\s*(?:그럼|그러면)"
)


ALL_ROWS = re.compile(r"파주시?\s*(?:전체|전부|모든)|전체|모든|\b(?:all|whole|overall)\b")


CHART = re.compile(r"그래프|차트|그림으로|도표|\b(?:charts?|graphs?|plot|visuali[sz]e)\b")


# "몇 권", "몇 석": the unit asked for says which measure is meant.
UNIT_ASKED = re.compile(r"몇\s*([가-힣])")


# What a question asks for rather than names: none of it is a word the data lacks.
QUESTION_WORDS = [CHANGE, SHARE, AVERAGE, RANKING, ASCENDING, MAXIMUM, MINIMUM, TREND, YEARLY, COUNT, SUM, TOP_N,
                  CHART, FOLLOW_UP, ALL_ROWS, periods.YOY, periods.MOM, periods.RANGE_WORDS]  # fmt: skip
