-- wrk script for POST /v1/decisions/order: every request with its own request_id.
-- KEY=cp_… wrk -t2 -c32 -d10s --latency -s bench/order.lua http://127.0.0.1:8000
local key = os.getenv("KEY") or ""
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
end
local counter = 0
function request()
  counter = counter + 1
  local body = string.format(
    '{"request_id":"wrk-%s-%s-%d",' ..
    '"customer":{"id":"C-1001","segment":"ordinary","grade":"A","limit":"1000000.00"},' ..
    '"order":{"id":"SO-1","amount":"12000.00","currency":"CNY"},' ..
    '"exposure":{"open_receivables":"100000.00","open_orders":"0.00","overdue_amount":"0.00","oldest_overdue_days":0},' ..
    '"as_of":"2026-06-30"}', tostring(tid), os.time(), counter)
  return wrk.format("POST", "/v1/decisions/order",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
