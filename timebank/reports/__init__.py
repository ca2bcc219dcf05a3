"""Reports: performance feedback cards to units (表现反馈卡, one of the 三卡), unit participation
rates, staff evaluation notes, and the street and district dashboards."""
