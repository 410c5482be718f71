#!lua name=decisions
--[[
One decision of the workload in examples/decisions.sql, in one round trip:
the six reads, the rule, then two to four writes, all atomic (nothing else
runs meanwhile, and an error rolls every write back).

  FUNCTION LOAD "$(cat examples/decision.lua)"
  FCALL decide 0 <id> <account> <merchant> <amount> <time>

<id> is the new payment's and decision's id; <time> is unix seconds (the
function has no clock: time comes as an argument). Returns the outcome and
the reason (nil when approved).
]]

local function decide(keys, args)
  local id = tonumber(args[1])
  local account = tonumber(args[2])
  local merchant = tonumber(args[3])
  local amount = tonumber(args[4])
  local now = tonumber(args[5])
  if not (id and account and merchant and amount and now) then
    return {err = 'ERR usage: FCALL decide 0 id account merchant amount time'}
  end

  local acc = aotdb.execute('account_by_id', account)[1]
  if acc == nil then
    return {err = 'NOTFOUND no account ' .. account}
  end
  local frozen, credit_limit = acc[5], acc[4]
  local risk = 0
  local mer = aotdb.execute('merchant_risk', merchant)[1]
  if mer ~= nil then
    risk = mer[2]
  end
  local spent_today = aotdb.execute('spend_since', account, now - 86400)[1][2]
  local approved = 0
  for _, row in ipairs(aotdb.execute('spend_by_category', account)) do
    approved = approved + row[2]
  end
  local is_top = false
  for _, row in ipairs(aotdb.execute('top_merchants', account)) do
    if row[1] == merchant then
      is_top = true
    end
  end
  local declines = 0
  for _, row in ipairs(aotdb.execute('recent_decisions', account)) do
    if row[2] == 'decline' then
      declines = declines + 1
    end
  end

  -- The first rule that applies.
  local outcome, reason = 'approve', nil
  if frozen then
    outcome, reason = 'decline', 'frozen'
  elseif spent_today + amount > credit_limit then
    outcome, reason = 'decline', 'limit'
  elseif risk > 90 and not is_top then
    outcome, reason = 'decline', 'risk'
  end

  local status = outcome == 'approve' and 'approved' or 'declined'
  aotdb.execute('record_payment', id, account, merchant, amount, now, status)
  aotdb.execute('record_decision', id, id, account, outcome, reason or aotdb.NULL, now)
  if outcome == 'decline' and reason ~= 'frozen' and declines >= 2 then
    aotdb.execute('freeze_account', account)
  end
  if outcome == 'approve' and (approved + 1) % 50 == 0 then
    aotdb.execute('set_credit_limit', account, credit_limit + 1000)
  end
  return {outcome, reason}
end

redis.register_function('decide', decide)
