import{cp as i}from"./index-BrIy6xZk.js";const n=o=>["",...i].includes(o);export{n as i};
