-- One anonymous answer to the five-goods questionnaire: 12 ratings, a category and a comment,
-- the same shape as ../shared/bench/floor_submit.lua.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "category=resident&leadership=satisfied&members=satisfied&mechanism=basic&results=satisfied&reputation=unsatisfied&serve_development=satisfied&task_completion=satisfied&harmony=basic&satisfaction=satisfied&efficiency=satisfied&attitude=satisfied&integrity=basic&comment=%E6%9C%8D%E5%8A%A1%E6%80%81%E5%BA%A6%E5%A5%BD"
