-- One anonymous answer to the five-goods questionnaire: 10 ratings, a category and a comment,
-- the shape of ../shared/bench/floor_submit.lua (which has 12 ratings).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "category=resident&leadership=satisfied&clean=satisfied&members=satisfied&mechanism=basic&results=satisfied&development=unsatisfied&contact=satisfied&disputes=basic&attitude=satisfied&overall=basic&comment=%E6%9C%8D%E5%8A%A1%E6%80%81%E5%BA%A6%E5%A5%BD"
