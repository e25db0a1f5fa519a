#!/bin/bash
# Tried from outside (issue 18): export account A, restore it into B by its download_url, compare the two
# through the API; with OWN=1 also restore A's own backup into A by its link (replace) after changing A.
# Run against `npm start` (BASE=http://localhost:8787 by default).
set -euo pipefail
B=${BASE:-http://localhost:8787}
j() { node -pe "const v=JSON.parse(require('fs').readFileSync(0));$1"; }
reg() { curl -s $B/api/v1/auth/register -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"pass-word-1234\",\"timezone\":\"Europe/Paris\"}" | j 'v.access_token'; }
S=$RANDOM
TA=$(reg "a$S@example.com"); TB=$(reg "b$S@example.com")
H="content-type: application/json"
call() { local tok=$1 m=$2 p=$3; shift 3; curl -s -X $m "$B$p" -H "authorization: Bearer $tok" -H "$H" "$@"; }
T1=$(call $TA POST /api/v1/tasks -d '{"title":"Plan the party","priority":"high","tags":["home","fun"],"micro_steps":[{"description":"Book the venue"},{"description":"Invite everyone"}]}')
T1ID=$(echo "$T1" | j v.task_id); S1=$(echo "$T1" | j 'v.micro_steps[0].step_id')
call $TA POST /api/v1/tasks -d "{\"title\":\"Clean up after\",\"depends_on\":[\"$T1ID\"]}" >/dev/null
T3=$(call $TA POST /api/v1/tasks -d '{"title":"Water the plants","priority":"low"}' | j v.task_id)
call $TA POST /api/v1/pets -d '{"species":"owl","name":"Hoot"}' >/dev/null
curl -s -X POST "$B/api/v1/tasks/$T1ID/steps/$S1/complete" -H "authorization: Bearer $TA" >/dev/null
curl -s -X POST "$B/api/v1/tasks/$T3/complete" -H "authorization: Bearer $TA" >/dev/null
call $TA PATCH /api/v1/focus/enhanced/settings -d '{"pomodoro_work_minutes":40,"long_break_every":3}' >/dev/null
sleep 3
EX=$(call $TA POST /api/v1/export -d '{"format":"json"}' | j v.export_id)
for i in $(seq 1 60); do ST=$(call $TA GET /api/v1/export/$EX); [ "$(echo "$ST" | j v.status)" = completed ] && break; sleep 1; done
echo "export: $(echo "$ST" | j 'v.status+" "+v.progress')"
LINK=$(echo "$ST" | j v.download_url)
PV=$(call $TB POST "/api/v1/import?source=export" -d "{\"download_url\":\"$LINK\"}")
echo "preview: $(echo "$PV" | j 'JSON.stringify({status:v.status,counts:v.preview.counts,problems:v.preview.problems.length,first:v.preview.first_items.map(i=>i.title)})')"
IM=$(echo "$PV" | j v.import_id)
call $TB POST /api/v1/import/$IM/commit -d '{"mode":"merge"}' | j 'v.status'
for i in $(seq 1 60); do ST=$(call $TB GET /api/v1/import/$IM); s=$(echo "$ST" | j v.status); [ "$s" = completed -o "$s" = failed ] && break; sleep 1; done
echo "import: $(echo "$ST" | j 'JSON.stringify({status:v.status,progress:v.progress,result:v.result})')"
for who in A B; do
  tok=$([ $who = A ] && echo $TA || echo $TB)
  echo "== $who"
  for id in $(call $tok GET "/api/v1/tasks?limit=50" | j '(v.items??v.tasks??v).map(t=>t.task_id).join(" ")'); do call $tok GET /api/v1/tasks/$id | j 'JSON.stringify([v.title,(v.micro_steps||[]).map(s=>s.description+":"+s.status),(v.depends_on||[]).length])'; done | sort
  call $tok GET "/api/v1/tasks?limit=50" | j 'JSON.stringify((v.items??v.tasks??v).map(t=>[t.title,t.status,t.priority,(t.tags||[]).join("+"),(t.micro_steps||[]).map(s=>s.description+(s.completed_at||s.status==="completed"?"✓":"")).join("|"),(t.depends_on||[]).length]).sort())'
  call $tok GET /api/v1/pets/me | j 'JSON.stringify([v.name,v.species,v.level,v.xp])'
  call $tok GET /api/v1/focus/enhanced/settings | j 'JSON.stringify([v.pomodoro_work_minutes,v.long_break_every])'
  call $tok GET /api/v1/gamification/me | j 'JSON.stringify([v.total_xp,v.level,v.current_streak??v.streak])'
done
if [ -n "${OWN:-}" ]; then
  echo "== own backup by link into A (replace), after deleting 'Water the plants' and renaming 'Plan the party'"
  curl -s -X DELETE "$B/api/v1/tasks/$T3" -H "authorization: Bearer $TA" -o /dev/null -w "delete %{http_code}\n"
  call $TA PATCH /api/v1/tasks/$T1ID -d '{"title":"Renamed since"}' | j 'v.title'
  PV=$(call $TA POST "/api/v1/import?source=export" -d "{\"download_url\":\"$LINK\"}")
  echo "preview duplicates: $(echo "$PV" | j 'JSON.stringify(v.preview.duplicates.map(d=>[d.title,d.deleted_since??false]))')"
  IM=$(echo "$PV" | j v.import_id)
  call $TA POST /api/v1/import/$IM/commit -d '{"mode":"replace"}' | j 'v.status'
  for i in $(seq 1 60); do ST=$(call $TA GET /api/v1/import/$IM); s=$(echo "$ST" | j v.status); [ "$s" = completed -o "$s" = failed ] && break; sleep 1; done
  echo "import: $(echo "$ST" | j 'JSON.stringify({status:v.status,result:v.result})')"
  for id in $(call $TA GET "/api/v1/tasks?limit=50" | j '(v.items??v.tasks??v).map(t=>t.task_id).join(" ")'); do call $TA GET /api/v1/tasks/$id | j 'JSON.stringify([v.title,v.status,(v.micro_steps||[]).map(s=>s.description+":"+s.status),(v.depends_on||[]).length])'; done | sort
  call $TA GET /api/v1/gamification/me | j 'JSON.stringify([v.total_xp,v.level])'
fi
